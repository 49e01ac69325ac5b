#include "keel/data/detail/atomic_write.h"

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <random>
#include <utility>

#include "keel/core/error.h"

namespace keel::data::detail {

void write_file_atomically(const std::filesystem::path& target, std::string_view bytes, std::string_view op) {
  auto fail = [&](std::string_view step, int err) {
    throw IOError(fmt::format("{}: cannot {} '{}': {}", op, step, target.string(), std::strerror(err)));
  };
  if (target.filename().empty()) throw IOError(fmt::format("{}: '{}' does not name a file", op, target.string()));
  std::random_device entropy;
  std::filesystem::path temp = target;
  temp += fmt::format(".tmp.{}.{:08x}{:08x}", ::getpid(), entropy(), entropy());
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) fail("create a temp file for", errno);
  struct Cleanup {
    const std::filesystem::path& temp;
    int fd;
    bool renamed = false;
    ~Cleanup() {
      if (fd >= 0) ::close(fd);
      if (!renamed) ::unlink(temp.c_str());
    }
  } cleanup{temp, fd};
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail("write", n < 0 ? errno : EIO);
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) fail("fsync the temp file for", errno);
  if (::close(std::exchange(cleanup.fd, -1)) != 0) fail("close the temp file for", errno);
  if (std::rename(temp.c_str(), target.c_str()) != 0) fail("rename the temp file over", errno);
  cleanup.renamed = true;
}

}  // namespace keel::data::detail
