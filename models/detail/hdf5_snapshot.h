#pragma once
// Everything keel's readers can ask of an HDF5 file, taken in one pass by the isolated reader
// (hdf5_isolation.h) and handed to the loading process, which then never calls libhdf5 on a file from
// outside: every group with its string attributes and member lists, every dataset with its shape, element
// type and values. A problem libhdf5 met on the way is kept as text and raised only if a loader asks for
// that object, so an error names what it names today. The encoded form comes from a process that read a
// hostile file: decode() trusts none of it.
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "keel/core/dtype.h"
#include "keel/models/detail/hdf5.h"

namespace keel::io::hdf5 {

struct SnapshotAttribute {
  std::string problem;  // why it is not a list of strings ("" when it is one)
  std::vector<std::string> strings;
};

struct SnapshotDataset {
  std::string problem;  // why the dataset could not be opened or described ("" when info holds)
  DatasetInfo info;
  // The values, as float32 or float64 (the file's float type) or int64 (any integer type); nullopt when
  // not read, for the reason in read_problem.
  std::optional<DType> stored;
  std::string read_problem;
  std::vector<std::byte> values;
};

struct SnapshotGroup {
  bool unread = false;  // left out on request (SnapshotLimits::unread_groups): nothing below is known
  std::map<std::string, SnapshotAttribute> attributes;
  std::string members_problem;  // why the members cannot be listed ("" when they can)
  std::vector<std::string> members_by_name;
  std::string creation_order_problem;  // why they cannot be listed in creation order
  std::vector<std::string> members_by_creation;
  std::map<std::string, SnapshotGroup> groups;
  std::map<std::string, SnapshotDataset> datasets;
};

struct Snapshot {
  std::string problem;  // why the file cannot be read at all ("" when root holds it)
  SnapshotGroup root;
};

// Limits of one snapshot; a file beyond them is refused whole (problem set).
struct SnapshotLimits {
  std::uint64_t max_value_bytes;  // all datasets' values together; a dataset past it is left unread
  int max_depth = 64;             // groups inside groups
  std::uint64_t max_objects = 200'000;
  std::vector<std::string> unread_groups;  // members of the root group not to read (hdf5.h's OpenOptions)
};

// Reads `image` with libhdf5. Only in the isolated process: libhdf5 may crash or hang on a hostile file.
Snapshot read_snapshot(std::span<const std::byte> image, const SnapshotLimits& limits);

// The encoded snapshot, or nullopt when it would not fit in `capacity` bytes.
std::optional<std::size_t> encode(const Snapshot& snapshot, std::span<std::byte> out);
// An IOError naming `file_name` for anything encode() could not have written.
Snapshot decode(std::span<const std::byte> bytes, const std::string& file_name);

}  // namespace keel::io::hdf5
