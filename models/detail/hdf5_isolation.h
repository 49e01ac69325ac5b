#pragma once
// libhdf5 1.10 trusts a file's metadata: on some corrupt files it reads out of bounds (a segmentation
// fault in H5HG_read, the global-heap reader behind variable-length string attributes) or spins for
// minutes (H5HG__protect), before keel sees a single value (both found by keel_fuzz_keras_h5). No check
// keel could make first would stop that without parsing HDF5 itself. So a file from outside is read whole
// in a child process, which sends back everything keel's readers can ask of it (hdf5_snapshot.h) through
// memory shared with this process; this process never calls libhdf5 on that file. If the child dies or
// overruns its time limit, the file is refused with an IOError.
#include <chrono>
#include <span>
#include <string>
#include <vector>

#include "keel/models/detail/hdf5_snapshot.h"

namespace keel::io::hdf5 {

// The snapshot of `bytes` (an HDF5 file image) taken in a child process; an IOError naming `name` when
// libhdf5 crashes or hangs there, or the file holds more than a file of its size could honestly hold. A
// file libhdf5 merely refuses comes back with Snapshot::problem set.
// `unread_groups`: members of the root group left out (hdf5.h's OpenOptions).
Snapshot read_in_child_process(std::span<const std::byte> bytes, const std::string& name,
                               const std::vector<std::string>& unread_groups = {});

// How long the child may read (default 20 s; a fuzzer lowers it below its own per-input timeout).
void set_child_time_limit(std::chrono::seconds limit);

}  // namespace keel::io::hdf5
