#pragma once
// libhdf5 1.10 trusts a file's metadata: on some corrupt files it reads out of bounds (a segmentation
// fault in H5HG_read, the global-heap reader behind variable-length string attributes) or spins for
// minutes (H5HG__protect), before keel sees a single value (both found by keel_fuzz_keras_h5). No check
// keel could make first would stop that without parsing HDF5 itself. So a file from outside is first read
// whole in a child process: every attribute, and every numeric dataset no larger than the file could
// hold. If the child dies or overruns its time limit, the file is refused with an IOError; otherwise the
// same bytes are opened again in this process, where libhdf5 now takes the paths the child survived.
#include <chrono>
#include <span>
#include <string>

namespace keel::io::hdf5 {

// IOError naming `name` when libhdf5 crashes or hangs reading `bytes` (an HDF5 file image) in a child
// process. A file libhdf5 merely refuses passes: opening it in this process then reports why.
void check_in_child_process(std::span<const std::byte> bytes, const std::string& name);

// How long the child may read (default 20 s; a fuzzer lowers it below its own per-input timeout).
void set_child_time_limit(std::chrono::seconds limit);

}  // namespace keel::io::hdf5
