#pragma once
// Kills a saving child process with a real SIGKILL at a chosen step of a chosen save, so the kill tests
// cover every step of atomic_write_file however fast or slow the machine is. The child's saves stop at
// each SavePoint, report it through a pipe and wait until the parent lets them go on or kills them.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <functional>

#include <catch2/catch.hpp>

#include "keel/models/detail/atomic_file.h"

namespace keel::test {

// Where a save stops, in the order one save reaches them.
enum class SavePoint : char {
  temp_created = 'c',   // the temp file exists, empty
  half_written = 'h',   // half of the bytes are in the temp file
  before_fsync = 'f',   // all bytes written, not yet fsynced
  before_rename = 'r',  // fsynced, not yet renamed over the target
  after_rename = 'R',   // the new file is in place, its directory not yet fsynced
  saved = 's',          // the save returned
};
inline constexpr std::array kSavePoints = {SavePoint::temp_created, SavePoint::half_written, SavePoint::before_fsync,
                                           SavePoint::before_rename, SavePoint::after_rename, SavePoint::saved};

inline bool renamed_by(SavePoint point) { return point == SavePoint::after_rename || point == SavePoint::saved; }

namespace detail {

// The child's side: report `point`, then wait for the parent's go (or die by its SIGKILL).
inline void stop_at(SavePoint point, int report_fd, int go_fd) {
  char c = static_cast<char>(point);
  char go = 0;
  if (::write(report_fd, &c, 1) != 1 || ::read(go_fd, &go, 1) != 1) ::_exit(3);
}

// File-system calls that stop at every SavePoint but `saved`.
inline io::FileSystemCalls stopping_calls(int report_fd, int go_fd) {
  auto stop = [report_fd, go_fd](SavePoint point) { stop_at(point, report_fd, go_fd); };
  io::FileSystemCalls calls = io::real_file_system_calls();
  calls.write = [stop](int fd, const void* data, std::size_t n) -> ssize_t {
    if (n < 2 || ::lseek(fd, 0, SEEK_CUR) != 0) return ::write(fd, data, n);
    stop(SavePoint::temp_created);
    ssize_t written = ::write(fd, data, n / 2);  // a short write: atomic_write_file writes the rest next
    stop(SavePoint::half_written);
    return written;
  };
  calls.fsync = [stop](int fd) {
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) stop(SavePoint::before_fsync);
    return ::fsync(fd);
  };
  calls.rename = [stop](const char* from, const char* to) {
    stop(SavePoint::before_rename);
    int rc = std::rename(from, to);
    stop(SavePoint::after_rename);
    return rc;
  };
  return calls;
}

}  // namespace detail

// Forks a child that calls save(first), save(first + 1), ... (each save must write through
// atomic_write_file(target, bytes), with more than one byte), lets it complete `completed` saves, then
// SIGKILLs it when save number `completed` reaches `point`, and reaps it.
inline void kill_during_save(const std::function<void(std::int64_t generation)>& save, std::int64_t first,
                             int completed, SavePoint point) {
  int report[2];
  int go[2];
  REQUIRE(::pipe(report) == 0);
  REQUIRE(::pipe(go) == 0);
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::close(report[0]);
    ::close(go[1]);
    io::ScopedFileSystemCalls stopping(detail::stopping_calls(report[1], go[0]));
    try {
      for (std::int64_t g = first;; ++g) {
        save(g);
        detail::stop_at(SavePoint::saved, report[1], go[0]);
      }
    } catch (...) {
      ::_exit(1);
    }
  }
  ::close(report[1]);
  ::close(go[0]);
  // Kills and reaps the child, and closes the parent's pipe ends, also when a REQUIRE below fails.
  struct KillAtExit {
    pid_t child;
    int report_fd, go_fd;
    int status = 0;
    ~KillAtExit() {
      if (child > 0) finish();
    }
    void finish() {
      ::kill(child, SIGKILL);
      ::waitpid(child, &status, 0);
      ::close(report_fd);
      ::close(go_fd);
      child = 0;
    }
  } guard{child, report[0], go[1]};
  int saves_done = 0;
  for (;;) {
    char reached = 0;
    REQUIRE(::read(report[0], &reached, 1) == 1);  // 0 bytes: the child died on its own
    if (saves_done == completed && reached == static_cast<char>(point)) break;
    if (reached == static_cast<char>(SavePoint::saved)) ++saves_done;
    REQUIRE(::write(go[1], "g", 1) == 1);
  }
  guard.finish();
  REQUIRE(WIFSIGNALED(guard.status));
  REQUIRE(WTERMSIG(guard.status) == SIGKILL);
}

}  // namespace keel::test
