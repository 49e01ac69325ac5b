#include "keel/models/detail/hdf5_isolation.h"

#include <fmt/format.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <optional>
#include <vector>

#include "keel/core/error.h"

namespace keel::io::hdf5 {
namespace {

std::atomic<unsigned> g_time_limit_seconds{20};

// The values of all datasets together may take this many times the file's size (Keras does not compress,
// so an honest file's values fit in it once), plus a fixed allowance for small files.
constexpr std::uint64_t kValueBytesPerFileByte = 16;
constexpr std::uint64_t kValueBytesAllowance = std::uint64_t{16} << 20;
// The description's strings (attributes, names) beyond the values.
constexpr std::uint64_t kDescriptionAllowance = std::uint64_t{320} << 20;

// Exit codes of the child besides 0.
constexpr int kTooLarge = 3;

// Memory shared with the child: it writes [u64 length][encoded snapshot]; pages are backed only once written.
class SharedBuffer {
 public:
  explicit SharedBuffer(std::size_t size) : size_(size) {
    void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    data_ = p == MAP_FAILED ? nullptr : static_cast<std::byte*>(p);
  }
  ~SharedBuffer() {
    if (data_) munmap(data_, size_);
  }
  SharedBuffer(const SharedBuffer&) = delete;
  SharedBuffer& operator=(const SharedBuffer&) = delete;
  std::byte* data() const { return data_; }
  std::size_t size() const { return size_; }

 private:
  std::byte* data_;
  std::size_t size_;
};

// The child's whole job: read the image and write its snapshot to `out`.
int write_snapshot(std::span<const std::byte> bytes, const std::vector<std::string>& unread_groups,
                   std::span<std::byte> out) {
  const SnapshotLimits limits{.max_value_bytes = kValueBytesPerFileByte * bytes.size() + kValueBytesAllowance,
                              .unread_groups = unread_groups};
  const Snapshot snapshot = read_snapshot(bytes, limits);
  const std::optional<std::size_t> length = encode(snapshot, out.subspan(sizeof(std::uint64_t)));
  if (!length) return kTooLarge;
  const std::uint64_t size = *length;
  std::memcpy(out.data(), &size, sizeof size);
  return 0;
}

}  // namespace

void set_child_time_limit(std::chrono::seconds limit) {
  g_time_limit_seconds = static_cast<unsigned>(std::max<std::chrono::seconds::rep>(1, limit.count()));
}

Snapshot read_in_child_process(std::span<const std::byte> bytes, const std::string& name,
                               const std::vector<std::string>& unread_groups) {
  const unsigned limit = g_time_limit_seconds;
  SharedBuffer shared(sizeof(std::uint64_t) + kValueBytesPerFileByte * bytes.size() + kValueBytesAllowance +
                      kDescriptionAllowance);
  if (!shared.data())
    throw IOError(fmt::format("{}: cannot set up memory for the process that reads the HDF5 file ({})", name,
                              strerror(errno)));
  // The child holds the write end of a pipe until it exits, so the parent sleeps in poll() until that
  // moment instead of waking on a timer.
  int exit_pipe[2];
  if (pipe2(exit_pipe, O_CLOEXEC) != 0)
    throw IOError(fmt::format("{}: cannot set up the process that reads the HDF5 file first ({})", name,
                              strerror(errno)));
  const pid_t child = fork();
  if (child < 0) {
    const int error = errno;
    close(exit_pipe[0]);
    close(exit_pipe[1]);
    throw IOError(fmt::format("{}: cannot start the process that reads the HDF5 file first ({})", name,
                              strerror(error)));
  }
  if (child == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the reader
    // Die quietly by the signal: no sanitizer or fuzzer crash handler speaks for the child, and nothing
    // libhdf5 (or a sanitizer watching it) prints reaches the user.
    for (int fatal : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) signal(fatal, SIG_DFL);
    if (const int null = open("/dev/null", O_WRONLY); null >= 0) dup2(null, STDERR_FILENO);
    close(exit_pipe[0]);
    _exit(write_snapshot(bytes, unread_groups, {shared.data(), shared.size()}));
  }
  close(exit_pipe[1]);
  // Polls in slices of at most 50 ms, so a copy of the write end that another thread's fork inherited
  // costs at most that; the child is killed at the limit.
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(limit);
  bool timed_out = false;
  while (true) {
    const pid_t done = waitpid(child, &status, WNOHANG);
    if (done == child) break;
    if (done < 0 && errno != EINTR) {
      const int error = errno;
      kill(child, SIGKILL);
      close(exit_pipe[0]);
      throw IOError(fmt::format("{}: lost the process reading the HDF5 file ({})", name, strerror(error)));
    }
    using std::chrono::milliseconds;
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
    if (!timed_out && left.count() <= 0) {
      timed_out = true;
      kill(child, SIGKILL);
    }
    pollfd exit_end{exit_pipe[0], POLLIN, 0};
    poll(&exit_end, 1, timed_out ? 10 : static_cast<int>(std::min<std::int64_t>(left.count(), 50)));
    if (exit_end.revents & (POLLHUP | POLLIN)) {
      // The child has exited (or is exiting): reap it without a timer.
      while (waitpid(child, &status, 0) < 0)
        if (errno != EINTR) break;
      break;
    }
  }
  close(exit_pipe[0]);
  if (timed_out)
    throw IOError(fmt::format("{}: libhdf5 did not finish reading the file within {} s; it is corrupt or hostile",
                              name, limit));
  if (WIFSIGNALED(status))
    throw IOError(fmt::format("{}: libhdf5 crashed reading the file (signal {}, {}); it is corrupt or hostile", name,
                              WTERMSIG(status), strsignal(WTERMSIG(status))));
  if (WIFEXITED(status) && WEXITSTATUS(status) == kTooLarge)
    throw IOError(fmt::format("{}: the HDF5 file describes more data than a file of {} bytes could hold; it is "
                              "corrupt or hostile",
                              name, bytes.size()));
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw IOError(fmt::format("{}: the process reading the HDF5 file failed (status {})", name, status));
  std::uint64_t length = 0;
  std::memcpy(&length, shared.data(), sizeof length);
  if (length > shared.size() - sizeof length)
    throw IOError(fmt::format("{}: the process reading the HDF5 file sent back a malformed description", name));
  return decode({shared.data() + sizeof length, static_cast<std::size_t>(length)}, name);
}

}  // namespace keel::io::hdf5
