#include "keel/models/detail/atomic_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstdio>
#include <cstring>
#include <new>
#include <optional>
#include <functional>
#include <limits>
#include <span>
#include <random>
#include <string>
#include <utility>

#include "keel/core/error.h"

namespace keel::io {
namespace fs = std::filesystem;
namespace {

constexpr std::size_t kWriteChunk = std::size_t{1} << 20;

const FileSystemCalls* g_replaced_calls = nullptr;  // set by ScopedFileSystemCalls

[[noreturn]] void fail(std::string_view op, std::string_view step, const fs::path& path, int err) {
  throw IOError(fmt::format("{}: {} '{}': {}", op, step, path.string(), std::strerror(err)));
}

// A temp name is "<name>.tmp.<pid>.<16 hex digits>"; its suffix takes at most this many bytes.
constexpr std::size_t kTempSuffixMax = std::string_view(".tmp.").size() + 10 + 1 + 16;

// The target's file name, cut (at a UTF-8 character boundary) so a temp name fits in NAME_MAX, then ".tmp.".
// Two long names that share their first bytes share the prefix, so a save of one may remove the other's
// stale temps: harmless, as only temps no save holds are removed.
std::string temp_prefix(const fs::path& target) {
  std::string stem = target.filename().string();
  if (stem.size() > NAME_MAX - kTempSuffixMax) {
    std::size_t cut = NAME_MAX - kTempSuffixMax;
    while (cut > 0 && (static_cast<unsigned char>(stem[cut]) & 0xC0) == 0x80) --cut;
    stem.resize(cut);
  }
  return stem + ".tmp.";
}

// The writer's pid when `name` is exactly a temp name keel makes after `prefix`: a pid without leading
// zeros, a dot and 16 lowercase hex digits. Anything else (a user's "model.keel.tmp.1.backup") is not keel's.
std::optional<pid_t> keel_temp_pid(std::string_view name, std::string_view prefix) {
  if (!name.starts_with(prefix)) return std::nullopt;
  name.remove_prefix(prefix.size());
  if (name.empty() || name.front() == '0') return std::nullopt;
  pid_t pid = 0;
  auto [end, err] = std::from_chars(name.data(), name.data() + name.size(), pid);
  std::string_view random(end, static_cast<std::size_t>(name.data() + name.size() - end));
  if (err != std::errc() || !random.starts_with('.')) return std::nullopt;
  random.remove_prefix(1);
  auto lower_hex = [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); };
  if (random.size() != 16 || !std::all_of(random.begin(), random.end(), lower_hex)) return std::nullopt;
  return pid;
}

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

// Takes the lock a writer holds on its temp file from creation to rename (remove_stale_temps never
// deletes a locked temp). False when a cleanup got there first: between our open and our flock it
// locked the file and has removed it or is about to. A file system without locks is written unlocked:
// a cleanup cannot lock there either, so it deletes nothing.
bool lock_new_temp(int fd) {
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) return errno != EWOULDBLOCK;
  struct stat st {};
  return ::fstat(fd, &st) == 0 && st.st_nlink > 0;
}

// Creates "<target>.tmp.<pid>.<random>" exclusively and locked, with the target's mode when it exists.
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
    if (!lock_new_temp(fd)) {
      if (attempt < 16) continue;
      fail("atomic_write_file", "cannot lock a temp file for", target, EWOULDBLOCK);
    }
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

// Runs after the rename, so a failure here cannot undo the save: the error says exactly that.
void fsync_directory(const FileSystemCalls& calls, const fs::path& dir, const fs::path& target) {
  auto fail_after_rename = [&](std::string_view step, int err) {
    throw IOError(fmt::format("atomic_write_file: the new file is in place at '{}', but its directory entry may not "
                              "be durable (cannot {} the directory '{}': {})",
                              target.string(), step, dir.string(), std::strerror(err)));
  };
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) fail_after_rename("open", errno);
  int rc = calls.fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) fail_after_rename("fsync", err);
}

// Removes this target's temp files that a killed save left behind. Stale means: the name is exactly one
// keel makes (keel_temp_pid) and no process holds its lock. The lock, not the pid in the name, is the
// test, because a pid says nothing across PID namespaces or hosts; the kernel drops a writer's lock
// however it dies. Files that cannot be opened or locked are left alone, and a FIFO or symlink with a
// temp's name is never opened as one. Our own pid's temps are skipped too: where flock is emulated with
// per-process fcntl locks (NFS), another thread's save would look unlocked to us.
void remove_stale_temps(const fs::path& dir, const fs::path& target) {
  const std::string prefix = temp_prefix(target);
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path& path = it->path();
    std::optional<pid_t> writer = keel_temp_pid(path.filename().string(), prefix);
    if (!writer || *writer == ::getpid()) continue;
    int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) continue;
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && ::flock(fd, LOCK_EX | LOCK_NB) == 0) ::unlink(path.c_str());
    ::close(fd);
  }
}

}  // namespace

FileSystemCalls real_file_system_calls() {
  return {[](int fd, const void* data, std::size_t n) { return ::write(fd, data, n); },
          [](int fd) { return ::fsync(fd); },
          [](const char* from, const char* to) { return std::rename(from, to); }};
}

ScopedFileSystemCalls::ScopedFileSystemCalls(FileSystemCalls calls)
    : calls_(std::move(calls)), previous_(std::exchange(g_replaced_calls, &calls_)) {}

ScopedFileSystemCalls::~ScopedFileSystemCalls() { g_replaced_calls = previous_; }

void atomic_write_file(const fs::path& target, std::string_view bytes) {
  atomic_write_file(target, bytes, g_replaced_calls ? *g_replaced_calls : real_file_system_calls());
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

FileBytes read_file_bytes_as_needed(const fs::path& path,
                                    const std::function<std::uint64_t(std::span<const std::byte>)>& bytes_needed) {
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
  FileBytes file{{}, static_cast<std::uint64_t>(info.st_size)};
  std::vector<std::byte>& bytes = file.bytes;
  for (;;) {
    const std::uint64_t wanted = std::min(bytes_needed(bytes), file.file_size);
    if (wanted <= bytes.size()) break;
    const std::size_t done = bytes.size();
    try {
      bytes.resize(static_cast<std::size_t>(wanted));
    } catch (const std::bad_alloc&) {
      throw IOError(fmt::format("read_file_bytes: '{}' needs {} bytes, more than this process can allocate",
                                path.string(), wanted));
    }
    std::size_t got = done;
    while (got < bytes.size()) {
      ssize_t n = ::read(fd, bytes.data() + got, bytes.size() - got);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) fail("read_file_bytes", "cannot read", path, errno);
      if (n == 0) break;  // the file shrank while it was read
      got += static_cast<std::size_t>(n);
    }
    bytes.resize(got);
    if (got < wanted) {
      file.file_size = got;
      break;
    }
  }
  return file;
}

std::vector<std::byte> read_file_bytes(const fs::path& path) {
  return read_file_bytes_as_needed(path, [](std::span<const std::byte>) {
           return std::numeric_limits<std::uint64_t>::max();
         }).bytes;
}

}  // namespace keel::io
