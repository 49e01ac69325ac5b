// read_snapshot: the one place keel reads a file from outside with libhdf5, run in the isolated process.
#include <fmt/format.h>

#include <algorithm>

#include "keel/models/detail/hdf5_library.h"
#include "keel/models/detail/hdf5_snapshot.h"

namespace keel::io::hdf5 {
namespace {

using namespace library;

struct Walk {
  const SnapshotLimits& limits;
  std::uint64_t value_bytes = 0;
  std::uint64_t objects = 0;
  std::string problem;  // set: the whole file is refused
};

herr_t collect_attribute_name(hid_t, const char* name, const H5A_info_t*, void* names) {
  static_cast<std::vector<std::string>*>(names)->emplace_back(name);
  return 0;
}

void read_attributes(hid_t group, SnapshotGroup& out) {
  std::vector<std::string> names;
  H5Aiterate2(group, H5_INDEX_NAME, H5_ITER_INC, nullptr, collect_attribute_name, &names);
  for (const std::string& name : names) {
    SnapshotAttribute& attribute = out.attributes[name];
    Handle id(H5Aopen(group, name.c_str(), H5P_DEFAULT), close_attribute);
    if (id.id() < 0) {
      attribute.problem = fmt::format("cannot open attribute '{}'", name);
      continue;
    }
    std::string problem;
    if (auto strings = read_strings(id.id(), problem))
      attribute.strings = std::move(*strings);
    else
      attribute.problem = fmt::format("attribute '{}': {}", name, problem);
  }
}

// The group's members in `index` order into `names` (and whether each is a hard link into `hard`).
void list_members(hid_t group, H5_index_t index, std::vector<std::string>& names, std::vector<bool>* hard,
                  std::string& problem, Walk& walk) {
  std::optional<Links> links = list_links(group, index, walk.limits.max_objects, problem);
  if (!links) return;
  if (links->over_limit)
    walk.problem = fmt::format("a group has more than the {} members keel reads", walk.limits.max_objects);
  names = std::move(links->names);
  if (hard) *hard = std::move(links->hard);
}

void read_dataset(const Handle& dataset, SnapshotDataset& out, Walk& walk) {
  std::optional<DatasetInfo> info = describe_dataset(dataset.id(), out.problem);
  if (!info) return;
  out.info = std::move(*info);
  const std::optional<DType> stored = out.info.dtype ? out.info.dtype
                                      : out.info.integer ? std::optional<DType>(DType::int64)
                                                         : std::nullopt;
  if (!stored) return;  // neither float nor integer: no reader asks for its values
  const std::uint64_t budget = walk.limits.max_value_bytes - walk.value_bytes;
  const std::optional<std::uint64_t> count = element_count(out.info.shape, budget / dtype_size(*stored));
  if (!count) {
    out.read_problem = "its values are more than a file of this size could hold, so they were not read";
    return;
  }
  out.values.resize(*count * dtype_size(*stored));
  if (!out.values.empty() &&
      H5Dread(dataset.id(), native_type(*stored), H5S_ALL, H5S_ALL, H5P_DEFAULT, out.values.data()) < 0) {
    out.values.clear();
    out.read_problem = "cannot read the dataset's data (truncated or corrupt file)";
    return;
  }
  walk.value_bytes += out.values.size();
  out.stored = stored;
}

void read_group(hid_t group, SnapshotGroup& out, int depth, Walk& walk) {
  if (depth > walk.limits.max_depth) {
    walk.problem = fmt::format("groups nest deeper than {} levels", walk.limits.max_depth);
    return;
  }
  read_attributes(group, out);
  std::vector<bool> hard;
  list_members(group, H5_INDEX_NAME, out.members_by_name, &hard, out.members_problem, walk);
  list_members(group, H5_INDEX_CRT_ORDER, out.members_by_creation, nullptr, out.creation_order_problem, walk);
  for (std::size_t i = 0; i < out.members_by_name.size() && walk.problem.empty(); ++i) {
    if (++walk.objects > walk.limits.max_objects) {
      walk.problem = fmt::format("it holds more than the {} objects keel reads", walk.limits.max_objects);
      return;
    }
    // Hard links only: Keras writes no other kind, and an external link would open another file.
    if (!hard[i]) continue;
    const std::string& name = out.members_by_name[i];
    Handle object(H5Oopen(group, name.c_str(), H5P_DEFAULT), H5Oclose);
    if (object.id() < 0) continue;
    const H5I_type_t type = H5Iget_type(object.id());
    const bool unread = depth == 0 && std::find(walk.limits.unread_groups.begin(), walk.limits.unread_groups.end(),
                                                name) != walk.limits.unread_groups.end();
    if (type == H5I_GROUP && unread)
      out.groups[name].unread = true;
    else if (type == H5I_GROUP)
      read_group(object.id(), out.groups[name], depth + 1, walk);
    else if (type == H5I_DATASET)
      read_dataset(object, out.datasets[name], walk);
  }
}

}  // namespace

Snapshot read_snapshot(std::span<const std::byte> image, const SnapshotLimits& limits) {
  Snapshot snapshot;
  Handle file(open_image(image), close_file);
  if (file.id() < 0) {
    snapshot.problem = "not a readable HDF5 file (truncated, corrupt or another format)";
    return snapshot;
  }
  Handle root(H5Gopen2(file.id(), "/", H5P_DEFAULT), close_group);
  if (root.id() < 0) {
    snapshot.problem = "cannot open the root group";
    return snapshot;
  }
  Walk walk{.limits = limits, .value_bytes = 0, .objects = 0, .problem = {}};
  read_group(root.id(), snapshot.root, 0, walk);
  if (!walk.problem.empty()) {
    snapshot.root = {};
    snapshot.problem = walk.problem;
  }
  return snapshot;
}

}  // namespace keel::io::hdf5
