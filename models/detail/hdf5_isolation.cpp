#include "keel/models/detail/hdf5_isolation.h"

#include <fmt/format.h>
#include <hdf5.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cerrno>
#include <cstdint>
#include <vector>

#include "keel/core/error.h"

namespace keel::io::hdf5 {
namespace {

std::atomic<unsigned> g_time_limit_seconds{20};

// The most bytes the child reads from one attribute or dataset: an honest one fits in the file.
struct Budget {
  std::uint64_t max_bytes;
};

// Reads every element of an attribute or dataset of `count` elements, through libhdf5's own conversions.
template <class Read>
void read_values(hid_t type, hssize_t count, const Budget& budget, Read&& read) {
  if (count <= 0) return;
  const H5T_class_t type_class = H5Tget_class(type);
  if (type_class == H5T_STRING && H5Tis_variable_str(type) > 0) {
    if (static_cast<std::uint64_t>(count) * sizeof(char*) > budget.max_bytes) return;
    hid_t memory = H5Tcopy(H5T_C_S1);
    H5Tset_size(memory, H5T_VARIABLE);
    std::vector<char*> strings(static_cast<std::size_t>(count), nullptr);
    read(memory, strings.data());  // what crashes on a corrupt global heap
    H5Tclose(memory);
    return;  // the child exits without freeing: nothing outlives it
  }
  if (type_class != H5T_STRING && type_class != H5T_INTEGER && type_class != H5T_FLOAT) return;
  const std::size_t size = H5Tget_size(type);
  if (size == 0 || static_cast<std::uint64_t>(count) * size > budget.max_bytes) return;
  hid_t memory = type_class == H5T_STRING ? H5Tcopy(type) : H5Tget_native_type(type, H5T_DIR_ASCEND);
  if (memory < 0) return;
  std::vector<unsigned char> buffer(static_cast<std::size_t>(count) * std::max(size, H5Tget_size(memory)));
  read(memory, buffer.data());
  H5Tclose(memory);
}

herr_t read_attribute(hid_t location, const char* name, const H5A_info_t*, void* data) {
  const Budget& budget = *static_cast<const Budget*>(data);
  hid_t attribute = H5Aopen(location, name, H5P_DEFAULT);
  if (attribute < 0) return 0;
  hid_t type = H5Aget_type(attribute), space = H5Aget_space(attribute);
  if (type >= 0 && space >= 0)
    read_values(type, H5Sget_simple_extent_npoints(space), budget,
                [&](hid_t memory, void* buffer) { H5Aread(attribute, memory, buffer); });
  if (space >= 0) H5Sclose(space);
  if (type >= 0) H5Tclose(type);
  H5Aclose(attribute);
  return 0;
}

herr_t read_object(hid_t root, const char* name, const H5O_info_t* info, void* data) {
  const Budget& budget = *static_cast<const Budget*>(data);
  hid_t object = H5Oopen(root, name, H5P_DEFAULT);
  if (object < 0) return 0;
  H5Aiterate2(object, H5_INDEX_NAME, H5_ITER_NATIVE, nullptr, read_attribute, data);
  if (info->type == H5O_TYPE_DATASET) {
    hid_t type = H5Dget_type(object), space = H5Dget_space(object);
    if (type >= 0 && space >= 0)
      read_values(type, H5Sget_simple_extent_npoints(space), budget,
                  [&](hid_t memory, void* buffer) { H5Dread(object, memory, H5S_ALL, H5S_ALL, H5P_DEFAULT, buffer); });
    if (space >= 0) H5Sclose(space);
    if (type >= 0) H5Tclose(type);
  }
  H5Oclose(object);
  return 0;
}

// The child's whole job: open the image and read everything the Keras readers could read.
void read_everything(std::span<const std::byte> bytes, const std::string& name) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  if (fapl < 0 || H5Pset_fapl_core(fapl, 64 * 1024, 0) < 0 ||
      H5Pset_file_image(fapl, const_cast<std::byte*>(bytes.data()), bytes.size()) < 0)
    return;
  hid_t file = H5Fopen(name.c_str(), H5F_ACC_RDONLY, fapl);
  if (file < 0) return;
  Budget budget{4 * static_cast<std::uint64_t>(bytes.size()) + (std::uint64_t{1} << 20)};
  H5Ovisit2(file, H5_INDEX_NAME, H5_ITER_NATIVE, read_object, &budget, H5O_INFO_BASIC);
}

}  // namespace

void set_child_time_limit(std::chrono::seconds limit) {
  g_time_limit_seconds = static_cast<unsigned>(std::max<std::chrono::seconds::rep>(1, limit.count()));
}

void check_in_child_process(std::span<const std::byte> bytes, const std::string& name) {
  const unsigned limit = g_time_limit_seconds;
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
    read_everything(bytes, name);
    _exit(0);
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
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw IOError(fmt::format("{}: the process reading the HDF5 file failed (status {})", name, status));
}

}  // namespace keel::io::hdf5
