#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <string>
#include <vector>

#include "keel/core/error.h"
#include "keel/models/detail/atomic_file.h"
#include "keel/models/detail/keel_file.h"
#include "models/file_test_support.h"
#include "models/save_kill_points.h"

using Catch::Matchers::Contains;
using keel::io::atomic_write_file;
using keel::io::FileSystemCalls;
using keel::test::ScratchDir;

namespace {

std::string read_text(const std::filesystem::path& p) {
  auto bytes = keel::io::read_file_bytes(p);
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

mode_t mode_of(const std::filesystem::path& p) {
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

// The id of a process that has exited and been reaped.
pid_t dead_pid() {
  pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  ::waitpid(pid, nullptr, 0);
  return pid;
}

// Generation g's checkpoint: its number in the config and in a tensor, and g-dependent values.
std::string generation_file(std::int64_t g) {
  std::vector<float> values(20000);
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(g) + static_cast<float>(i) * 0.5f;
  return keel::io::encode_keel_file({{"generation", keel::DType::int64, {1}, &g, sizeof g},
                                     {"values", keel::DType::float32, {20000}, values.data(), values.size() * 4}},
                                    "{\"generation\":" + std::to_string(g) + "}");
}

}  // namespace

TEST_CASE("atomic_write_file creates and replaces a file", "[io]") {
  ScratchDir dir("atomic");
  auto target = dir.path() / "model.keel";
  atomic_write_file(target, "first");
  CHECK(read_text(target) == "first");
  mode_t mask = ::umask(0);
  ::umask(mask);
  CHECK(mode_of(target) == (0644 & ~mask));
  atomic_write_file(target, std::string(3 << 20, 'x'));  // several write chunks
  CHECK(read_text(target) == std::string(3 << 20, 'x'));
  atomic_write_file(target, "");
  CHECK(read_text(target).empty());
  CHECK(dir.listing() == std::set<std::string>{"model.keel"});
}

TEST_CASE("atomic_write_file keeps the target's permission bits", "[io]") {
  ScratchDir dir("mode");
  auto target = dir.path() / "model.keel";
  for (mode_t mode : {0644, 0600, 0640, 0755}) {
    atomic_write_file(target, "old");
    REQUIRE(::chmod(target.c_str(), mode) == 0);
    atomic_write_file(target, "new");
    CHECK(mode_of(target) == mode);
    CHECK(read_text(target) == "new");
  }
}

TEST_CASE("a write failing after k bytes, for every k, leaves the old file and no temp file", "[io]") {
  ScratchDir dir("faults");
  auto target = dir.path() / "model.keel";
  const std::string old_bytes = generation_file(1).substr(0, 3000);
  const std::string new_bytes = generation_file(2).substr(0, 257);
  atomic_write_file(target, old_bytes);
  for (std::size_t k = 0; k <= new_bytes.size(); ++k) {
    INFO("failing after " << k << " bytes");
    std::size_t budget = k;
    FileSystemCalls calls = keel::io::real_file_system_calls();
    calls.write = [&budget](int fd, const void* data, std::size_t n) -> ssize_t {
      if (budget == 0) {
        errno = ENOSPC;
        return -1;
      }
      std::size_t now = std::min(n, budget);  // a short write, then the disk is full
      budget -= now;
      return ::write(fd, data, now);
    };
    if (k < new_bytes.size()) {
      REQUIRE_THROWS_AS(atomic_write_file(target, new_bytes, calls), keel::IOError);
      REQUIRE_THROWS_WITH(atomic_write_file(target, new_bytes, calls),
                          Contains(target.string()) && Contains("No space left on device"));
      CHECK(read_text(target) == old_bytes);
    } else {
      atomic_write_file(target, new_bytes, calls);
      CHECK(read_text(target) == new_bytes);
    }
    CHECK(dir.listing() == std::set<std::string>{"model.keel"});
  }
}

TEST_CASE("fsync and rename failures leave the old file and no temp file", "[io]") {
  ScratchDir dir("fsync");
  auto target = dir.path() / "model.keel";
  atomic_write_file(target, "old");
  FileSystemCalls failing_fsync = keel::io::real_file_system_calls();
  failing_fsync.fsync = [](int) {
    errno = EIO;
    return -1;
  };
  REQUIRE_THROWS_WITH(atomic_write_file(target, "new", failing_fsync),
                      Contains("fsync") && Contains(target.string()) && Contains("Input/output error"));
  FileSystemCalls failing_rename = keel::io::real_file_system_calls();
  failing_rename.rename = [](const char*, const char*) {
    errno = EXDEV;
    return -1;
  };
  REQUIRE_THROWS_WITH(atomic_write_file(target, "new", failing_rename),
                      Contains("rename") && Contains(target.string()) && Contains("cross-device"));
  CHECK(read_text(target) == "old");
  CHECK(dir.listing() == std::set<std::string>{"model.keel"});
}

TEST_CASE("atomic_write_file names the path when the directory is missing", "[io]") {
  ScratchDir dir("missing");
  auto target = dir.path() / "no" / "such" / "model.keel";
  REQUIRE_THROWS_AS(atomic_write_file(target, "x"), keel::IOError);
  REQUIRE_THROWS_WITH(atomic_write_file(target, "x"), Contains(target.string()) && Contains("No such file"));
}

TEST_CASE("a failed directory fsync after the rename says the new file is in place but may not be durable", "[io]") {
  ScratchDir dir("dirsync");
  auto target = dir.path() / "model.keel";
  atomic_write_file(target, "old");
  FileSystemCalls failing_directory_fsync = keel::io::real_file_system_calls();
  failing_directory_fsync.fsync = [](int fd) {
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
      errno = EIO;
      return -1;
    }
    return ::fsync(fd);
  };
  REQUIRE_THROWS_WITH(atomic_write_file(target, "new", failing_directory_fsync),
                      Contains(target.string()) && Contains("the new file is in place") &&
                          Contains("directory entry may not be durable") && Contains("Input/output error"));
  CHECK(read_text(target) == "new");
  CHECK(dir.listing() == std::set<std::string>{"model.keel"});
}

TEST_CASE("file names up to the 255-byte limit can be saved", "[io]") {
  ScratchDir dir("long");
  for (std::size_t length : {200, 230, 231, 250, 255}) {
    const std::string name = std::string(length - 5, 'm') + ".keel";
    INFO(length << "-byte name");
    atomic_write_file(dir.path() / name, "first");
    atomic_write_file(dir.path() / name, "second");
    CHECK(read_text(dir.path() / name) == "second");
    CHECK(dir.listing() == std::set<std::string>{name});
    std::filesystem::remove(dir.path() / name);
  }
}

TEST_CASE("a temp file left by a save killed before its rename is removed by the next save", "[io]") {
  ScratchDir dir("killed");
  for (std::size_t length : {10, 255}) {
    const std::string name = std::string(length - 5, 'k') + ".keel";
    INFO(length << "-byte name");
    auto target = dir.path() / name;
    atomic_write_file(target, "old");
    pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      FileSystemCalls dies_before_rename = keel::io::real_file_system_calls();
      dies_before_rename.rename = [](const char*, const char*) { return ::raise(SIGKILL); };
      atomic_write_file(target, "new", dies_before_rename);
      ::_exit(1);
    }
    int status = 0;
    ::waitpid(child, &status, 0);
    REQUIRE(WIFSIGNALED(status));
    REQUIRE(dir.listing().size() == 2);  // the target and the killed save's temp file
    atomic_write_file(target, "newer");
    CHECK(read_text(target) == "newer");
    CHECK(dir.listing() == std::set<std::string>{name});
    std::filesystem::remove(target);
  }
}

TEST_CASE("the next save removes only keel's own temp files that no save holds", "[io]") {
  ScratchDir dir("stale");
  auto target = dir.path() / "model.keel";
  atomic_write_file(target, "old");
  const std::string dead = std::to_string(dead_pid());
  const std::string stale = "model.keel.tmp." + dead + ".0123456789abcdef";
  // A save in another PID namespace or on another host: its pid means nothing here, but it holds the lock.
  const std::string held = "model.keel.tmp." + dead + ".fedcba9876543210";
  const std::set<std::string> not_keels = {"model.keel.tmp.99999.backup",
                                           "model.keel.tmp." + dead + ".0123456789ABCDEF",
                                           "model.keel.tmp." + dead + ".0123456789abcdef.old",
                                           "model.keel.tmp." + dead + ".0123456789abcde",
                                           "model.keel.tmp.0" + dead + ".0123456789abcdef",
                                           "other.keel.tmp." + dead + ".0123456789abcdef"};
  for (const auto& name : not_keels) std::ofstream(dir.path() / name) << "a user's file";
  std::ofstream(dir.path() / stale) << "partial";
  std::ofstream(dir.path() / held) << "partial";
  int held_fd = ::open((dir.path() / held).c_str(), O_WRONLY | O_CLOEXEC);
  REQUIRE(held_fd >= 0);
  REQUIRE(::flock(held_fd, LOCK_EX) == 0);
  const std::string fifo = "model.keel.tmp." + dead + ".00000000000000ff";  // opening it must not block
  REQUIRE(::mkfifo((dir.path() / fifo).c_str(), 0600) == 0);

  atomic_write_file(target, "new");
  CHECK(read_text(target) == "new");
  std::set<std::string> expected = not_keels;
  expected.insert({"model.keel", held, fifo});
  CHECK(dir.listing() == expected);

  ::close(held_fd);  // the holder is gone: now it is stale
  atomic_write_file(target, "newer");
  expected.erase(held);
  CHECK(dir.listing() == expected);
}

TEST_CASE("SIGKILL at every step of a save always leaves a complete generation", "[io]") {
  using keel::test::SavePoint;
  ScratchDir dir("kill");
  auto target = dir.path() / "model.keel";
  atomic_write_file(target, generation_file(0));
  auto save = [&target](std::int64_t g) { atomic_write_file(target, generation_file(g)); };
  std::int64_t on_disk = 0;
  std::int64_t first = 1;  // every child writes generations no earlier child wrote
  for (int completed : {0, 1, 2}) {
    for (SavePoint point : keel::test::kSavePoints) {
      INFO("killed at '" << static_cast<char>(point) << "' after " << completed << " completed saves");
      keel::test::kill_during_save(save, first, completed, point);
      if (completed > 0) on_disk = first + completed - 1;
      if (keel::test::renamed_by(point)) on_disk = first + completed;
      auto bytes = keel::io::read_file_bytes(target);
      auto contents = keel::io::decode_keel_file(bytes, target.string(), true);
      REQUIRE(contents.tensors.size() == 2);
      std::int64_t g = 0;
      std::memcpy(&g, contents.tensors[0].bytes.data(), sizeof g);
      REQUIRE(g == on_disk);
      REQUIRE(std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size()) == generation_file(on_disk));
      // The killed save's temp file stays until a later save; a completed save removed the earlier ones.
      const std::size_t temps = dir.listing().size() - 1;
      if (!keel::test::renamed_by(point)) CHECK(temps >= 1);
      if (completed > 0 || point == SavePoint::saved) CHECK(temps == (keel::test::renamed_by(point) ? 0u : 1u));
      first += completed + 1;
    }
  }
  atomic_write_file(target, generation_file(-1));
  CHECK(dir.listing() == std::set<std::string>{"model.keel"});
}
