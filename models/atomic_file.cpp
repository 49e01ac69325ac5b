#include "keel/models/atomic_file.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <new>
#include <random>
#include <string>
#include <utility>

#include "keel/core/error.h"

namespace keel::io {
namespace fs = std::filesystem;
namespace {

constexpr std::size_t kWriteChunk = std::size_t{1} << 20;

[[noreturn]] void fail(std::string_view op, std::string_view step, const fs::path& path, int err) {
  throw IOError(fmt::format("{}: {} '{}': {}", op, step, path.string(), std::strerror(err)));
}

std::string temp_prefix(const fs::path& target) { return target.filename().string() + ".tmp."; }

// Owns the temp file: closes it, and deletes it unless it was renamed into place.
class TempFile {
 public:
  TempFile(fs::path path, int fd) : path_(std::move(path)), fd_(fd) {}
  TempFile(TempFile&& other) noexcept
      : path_(std::move(other.path_)), fd_(std::exchange(other.fd_, -1)),
        renamed_(std::exchange(other.renamed_, true)) {}
  TempFile& operator=(TempFile&&) = delete;
  ~TempFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!renamed_) ::unlink(path_.c_str());
  }
  int fd() const { return fd_; }
  const fs::path& path() const { return path_; }
  void mark_renamed() { renamed_ = true; }

 private:
  fs::path path_;
  int fd_;
  bool renamed_ = false;
};

// Creates "<target>.tmp.<pid>.<random>" exclusively, with the target's mode when it exists.
TempFile create_temp_next_to(const fs::path& target) {
  struct stat existing {};
  bool keep_mode = ::stat(target.c_str(), &existing) == 0;
  if (!keep_mode && errno != ENOENT) fail("atomic_write_file", "cannot stat", target, errno);
  std::random_device entropy;
  for (int attempt = 0;; ++attempt) {
    fs::path temp = target;
    temp.replace_filename(fmt::format("{}{}.{:08x}{:08x}", temp_prefix(target), ::getpid(), entropy(), entropy()));
    int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, keep_mode ? 0600 : 0644);
    if (fd < 0) {
      if (errno == EEXIST && attempt < 16) continue;
      fail("atomic_write_file", "cannot create a temp file for", target, errno);
    }
    TempFile file(std::move(temp), fd);
    if (keep_mode && ::fchmod(fd, existing.st_mode & 07777) != 0)
      fail("atomic_write_file", "cannot set the mode of the temp file for", target, errno);
    return file;
  }
}

void write_all(const FileSystemCalls& calls, int fd, std::string_view bytes, const fs::path& target) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    std::size_t n = std::min(bytes.size() - done, kWriteChunk);
    ssize_t written = calls.write(fd, bytes.data() + done, n);
    if (written < 0 && errno == EINTR) continue;
    if (written < 0) fail("atomic_write_file", "cannot write", target, errno);
    if (written == 0) fail("atomic_write_file", "cannot write", target, EIO);
    done += static_cast<std::size_t>(written);
  }
}

void fsync_directory(const FileSystemCalls& calls, const fs::path& dir, const fs::path& target) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) fail("atomic_write_file", "replaced but cannot open the directory of", target, errno);
  int rc = calls.fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) fail("atomic_write_file", "replaced but cannot fsync the directory of", target, err);
}

bool process_is_gone(pid_t pid) { return ::kill(pid, 0) != 0 && errno == ESRCH; }

// Removes "<target>.tmp.<pid>.<random>" files whose writer no longer runs. Best effort: a file that
// cannot be removed is left alone, and temps of live processes (a concurrent save) are never touched.
void remove_stale_temps(const fs::path& dir, const fs::path& target) {
  const std::string prefix = temp_prefix(target);
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    std::string name = entry.path().filename().string();
    if (!name.starts_with(prefix)) continue;
    const char* first = name.data() + prefix.size();
    const char* last = name.data() + name.size();
    pid_t pid = 0;
    auto [end, err] = std::from_chars(first, last, pid);
    if (err != std::errc() || end == last || *end != '.' || pid <= 0 || pid == ::getpid()) continue;
    if (process_is_gone(pid)) fs::remove(entry.path(), ec);
  }
}

}  // namespace

FileSystemCalls real_file_system_calls() {
  return {[](int fd, const void* data, std::size_t n) { return ::write(fd, data, n); },
          [](int fd) { return ::fsync(fd); },
          [](const char* from, const char* to) { return std::rename(from, to); }};
}

void atomic_write_file(const fs::path& target, std::string_view bytes) {
  atomic_write_file(target, bytes, real_file_system_calls());
}

void atomic_write_file(const fs::path& target, std::string_view bytes, const FileSystemCalls& calls) {
  if (target.filename().empty())
    throw IOError(fmt::format("atomic_write_file: '{}' does not name a file", target.string()));
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  TempFile temp = create_temp_next_to(target);
  write_all(calls, temp.fd(), bytes, target);
  if (calls.fsync(temp.fd()) != 0) fail("atomic_write_file", "cannot fsync the temp file for", target, errno);
  if (calls.rename(temp.path().c_str(), target.c_str()) != 0)
    fail("atomic_write_file", "cannot rename the temp file over", target, errno);
  temp.mark_renamed();
  fsync_directory(calls, dir, target);
  remove_stale_temps(dir, target);
}

namespace {

const char* kind_of_file(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

}  // namespace

std::vector<std::byte> read_file_bytes(const fs::path& path) {
  // O_NONBLOCK: opening a FIFO that has no writer would block before fstat could refuse it.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) fail("read_file_bytes", "cannot open", path, errno);
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat info {};
  if (::fstat(fd, &info) != 0) fail("read_file_bytes", "cannot stat", path, errno);
  if (!S_ISREG(info.st_mode))
    throw IOError(fmt::format("read_file_bytes: '{}' is not a regular file ({}); keel reads files only from regular "
                              "files",
                              path.string(), kind_of_file(info.st_mode)));
  // Never more than the size at open: a file that grows while it is read is not followed.
  const auto size = static_cast<std::size_t>(info.st_size);
  std::vector<std::byte> bytes;
  try {
    bytes.resize(size);
  } catch (const std::bad_alloc&) {
    throw IOError(fmt::format("read_file_bytes: '{}' holds {} bytes, more than this process can allocate",
                              path.string(), size));
  }
  std::size_t done = 0;
  while (done < size) {
    ssize_t n = ::read(fd, bytes.data() + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("read_file_bytes", "cannot read", path, errno);
    if (n == 0) break;  // the file shrank while it was read
    done += static_cast<std::size_t>(n);
  }
  bytes.resize(done);
  return bytes;
}

}  // namespace keel::io
