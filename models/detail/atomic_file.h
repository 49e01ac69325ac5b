#pragma once
// Whole-file I/O for checkpoints: an atomic replace for writing and a checked read.
#include <cstddef>
#include <filesystem>
#include <cstdint>
#include <span>
#include <functional>
#include <string_view>
#include <sys/types.h>
#include <vector>

namespace keel::io {

// Replaces `target` with `bytes` so that every reader, and the file after a crash or SIGKILL at any moment,
// sees either the old complete file or the new one: the bytes go to a unique temp file in the same
// directory ("<name>.tmp.<pid>.<16 random hex digits>", the name cut short so this fits in 255 bytes),
// which is locked (flock) while it is written, fsynced, renamed over the target, and then the directory is
// fsynced. An existing target's permission bits are kept; a new file gets 0644 less the umask. On a failure
// before the rename the temp file is removed, the target is untouched and an IOError names the path, the
// step and the errno text. When only the directory fsync fails, the IOError says that the new file is in
// place but its directory entry may not be durable. After a successful replace, this target's temp files
// that no process holds locked (left by a SIGKILLed save) are removed; nothing else is touched. A symlink
// target is replaced by a regular file.
void atomic_write_file(const std::filesystem::path& target, std::string_view bytes);

// The system calls atomic_write_file makes, replaceable so tests can fail any of them (set errno, return -1).
struct FileSystemCalls {
  std::function<ssize_t(int fd, const void* data, std::size_t n)> write;
  std::function<int(int fd)> fsync;
  std::function<int(const char* from, const char* to)> rename;
};
FileSystemCalls real_file_system_calls();

// While alive, atomic_write_file(target, bytes) makes `calls` instead of the real ones, for tests of code
// that saves without taking calls (Model::save). Process-wide and not thread-safe: make it while no save runs.
class ScopedFileSystemCalls {
 public:
  explicit ScopedFileSystemCalls(FileSystemCalls calls);
  ScopedFileSystemCalls(const ScopedFileSystemCalls&) = delete;
  ScopedFileSystemCalls& operator=(const ScopedFileSystemCalls&) = delete;
  ~ScopedFileSystemCalls();

 private:
  FileSystemCalls calls_;
  const FileSystemCalls* previous_;
};
void atomic_write_file(const std::filesystem::path& target, std::string_view bytes, const FileSystemCalls& calls);

// The whole file, as large as it was when opened; IOError naming the path and the errno text when it is
// missing or unreadable, and naming the kind of file when it is not a regular file (a FIFO, a device, a
// directory), which is refused without blocking or reading from it.
std::vector<std::byte> read_file_bytes(const std::filesystem::path& path);

// The first bytes of a file, read as read_file_bytes does (same checks and errors) but only as far as
// `bytes_needed(what was read so far)` asks, asked again after each read until it asks for no more;
// `file_size` is the file's size at open, so a caller can tell that bytes were left unread.
struct FileBytes {
  std::vector<std::byte> bytes;
  std::uint64_t file_size = 0;
};
FileBytes read_file_bytes_as_needed(const std::filesystem::path& path,
                                    const std::function<std::uint64_t(std::span<const std::byte>)>& bytes_needed);

}  // namespace keel::io
