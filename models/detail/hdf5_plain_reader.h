#pragma once
// A bounds-checked reader, in keel's own code, of the plain HDF5 files h5py writes by default (and so
// Keras 2's .h5 files): superblock version 0 with 8-byte offsets and lengths, version-1 object headers,
// groups as symbol tables (a version-1 B-tree over a local heap), attributes in the object header with
// fixed-length or variable-length strings (the global heap), and contiguous or compact datasets of
// little-endian IEEE floats and integers. It gives the same snapshot the isolated libhdf5 reader gives
// (hdf5_snapshot.h), without a process or libhdf5. Anything else, or anything inconsistent, is not an
// error here: the file then goes to the isolated reader, which decides (tests compare the two snapshots
// on every real Keras file).
#include <optional>
#include <span>

#include "keel/models/detail/hdf5_snapshot.h"

namespace keel::io::hdf5 {

// The snapshot of `image`, or nullopt when the file uses anything beyond the plain subset.
std::optional<Snapshot> read_plain_snapshot(std::span<const std::byte> image, const SnapshotLimits& limits);

}  // namespace keel::io::hdf5
