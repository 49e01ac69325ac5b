#pragma once
// Whole-file I/O for checkpoints: an atomic replace for writing and a checked read.
#include <cstddef>
#include <filesystem>
#include <functional>
#include <string_view>
#include <sys/types.h>
#include <vector>

namespace keel::io {

// Replaces `target` with `bytes` so that every reader, and the file after a crash or SIGKILL at any moment,
// sees either the old complete file or the new one: the bytes go to a unique temp file in the same
// directory ("<name>.tmp.<pid>.<random>"), which is fsynced, renamed over the target, and then the directory
// is fsynced. An existing target's permission bits are kept; a new file gets 0644 less the umask. On any
// failure the temp file is removed, the target is untouched and an IOError names the path, the step and the
// errno text. After a successful replace, temp files of this target left by processes that no longer run
// (a SIGKILLed save) are removed. A symlink target is replaced by a regular file.
void atomic_write_file(const std::filesystem::path& target, std::string_view bytes);

// The system calls atomic_write_file makes, replaceable so tests can fail any of them (set errno, return -1).
struct FileSystemCalls {
  std::function<ssize_t(int fd, const void* data, std::size_t n)> write;
  std::function<int(int fd)> fsync;
  std::function<int(const char* from, const char* to)> rename;
};
FileSystemCalls real_file_system_calls();
void atomic_write_file(const std::filesystem::path& target, std::string_view bytes, const FileSystemCalls& calls);

// The whole file, as large as it was when opened; IOError naming the path and the errno text when it is
// missing or unreadable, and naming the kind of file when it is not a regular file (a FIFO, a device, a
// directory), which is refused without blocking or reading from it.
std::vector<std::byte> read_file_bytes(const std::filesystem::path& path);

}  // namespace keel::io
