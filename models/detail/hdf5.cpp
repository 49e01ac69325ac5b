#include "keel/models/detail/hdf5.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <iterator>
#include <limits>

#include "keel/core/error.h"
#include "keel/models/detail/atomic_file.h"
#include "keel/models/detail/hdf5_isolation.h"
#include "keel/models/detail/hdf5_library.h"
#include "keel/models/detail/hdf5_snapshot.h"

namespace keel::io::hdf5 {
namespace {

using namespace library;

[[noreturn]] void fail_file(const std::string& file, const std::string& problem) {
  throw IOError(fmt::format("HDF5 file '{}': {}", file, problem));
}

hid_t file_type(DType dtype) {
  if (dtype == DType::int64) return H5T_STD_I64LE;
  return dtype == DType::float64 ? H5T_IEEE_F64LE : H5T_IEEE_F32LE;
}

// A snapshot dataset's values (float32, float64 or int64, of `out`'s element count) into `out`, converted
// between the float types with rounding to nearest, as libhdf5 converts.
template <class From, class To>
void convert_values(const std::vector<std::byte>& values, To* out) {
  for (std::size_t i = 0; i < values.size() / sizeof(From); ++i) {
    From v;
    std::memcpy(&v, values.data() + i * sizeof(From), sizeof v);
    out[i] = static_cast<To>(v);
  }
}

void copy_values(DType stored, const std::vector<std::byte>& values, Tensor& out) {
  if (stored == out.dtype())
    std::memcpy(out.raw_data(), values.data(), values.size());
  else if (stored == DType::float32)
    convert_values<float>(values, static_cast<double*>(out.raw_data()));
  else
    convert_values<double>(values, static_cast<float*>(out.raw_data()));
}

// The components of a relative path "a/b/c"; nullopt for "", "/a", "a//b" or "a/" (which name nothing).
std::optional<std::vector<std::string>> path_components(const std::string& name) {
  std::vector<std::string> parts;
  std::size_t pos = 0;
  while (true) {
    const std::size_t slash = name.find('/', pos);
    std::string part = name.substr(pos, slash == std::string::npos ? std::string::npos : slash - pos);
    if (part.empty()) return std::nullopt;
    parts.push_back(std::move(part));
    if (slash == std::string::npos) return parts;
    pos = slash + 1;
  }
}

}  // namespace

Handle::Handle(std::int64_t id, int (*close)(std::int64_t))
    : id_(new std::int64_t(id), [close](const std::int64_t* p) {
        close(*p);
        delete p;
      }) {}

std::int64_t Handle::id() const { return id_ ? *id_ : H5I_INVALID_HID; }

Group::Group(Handle handle, std::string path, std::string file_name)
    : handle_(std::move(handle)), path_(std::move(path)), file_name_(std::move(file_name)) {}

Group::Group(std::shared_ptr<const Snapshot> snapshot, const SnapshotGroup& node, std::string path,
             std::string file_name)
    : snapshot_(std::move(snapshot)), node_(&node), path_(std::move(path)), file_name_(std::move(file_name)) {}

std::string Group::child_path(const std::string& name) const {
  return path_ == "/" ? "/" + name : path_ + "/" + name;
}

void Group::fail(const std::string& object, const std::string& problem) const {
  throw IOError(fmt::format("HDF5 file '{}', object '{}': {}", file_name_, object, problem));
}

namespace {

// Whether `name` (a relative path) names an object of `type` under `group`, checking each path component,
// as H5Oget_info_by_name on a missing intermediate group is an error rather than "no".
bool has_object(hid_t group, const std::string& name, H5O_type_t type) {
  if (name.empty()) return false;
  std::size_t pos = 0;
  while (true) {
    std::size_t slash = name.find('/', pos);
    std::string prefix = name.substr(0, slash);
    if (prefix.empty() || prefix.back() == '/') return false;
    if (H5Lexists(group, prefix.c_str(), H5P_DEFAULT) <= 0) return false;
    if (slash == std::string::npos) break;
    pos = slash + 1;
  }
  H5O_info_t info;
#if H5_VERSION_GE(1, 12, 0)
  if (H5Oget_info_by_name3(group, name.c_str(), &info, H5O_INFO_BASIC, H5P_DEFAULT) < 0) return false;
#else
  if (H5Oget_info_by_name2(group, name.c_str(), &info, H5O_INFO_BASIC, H5P_DEFAULT) < 0) return false;
#endif
  return info.type == type;
}

}  // namespace

const SnapshotGroup* Group::find_group(const std::string& name) const {
  const std::optional<std::vector<std::string>> parts = path_components(name);
  if (!parts) return nullptr;
  const SnapshotGroup* at = node_;
  for (const std::string& part : *parts) {
    auto it = at->groups.find(part);
    if (it == at->groups.end()) return nullptr;
    at = &it->second;
  }
  return at;
}

const SnapshotDataset* Group::find_dataset(const std::string& name) const {
  const std::size_t slash = name.rfind('/');
  const SnapshotGroup* parent = slash == std::string::npos ? node_ : find_group(name.substr(0, slash));
  const std::string leaf = slash == std::string::npos ? name : name.substr(slash + 1);
  if (!parent || leaf.empty()) return nullptr;
  auto it = parent->datasets.find(leaf);
  return it == parent->datasets.end() ? nullptr : &it->second;
}

bool Group::has_group(const std::string& name) const {
  if (node_) return find_group(name) != nullptr;
  return has_object(handle_.id(), name, H5O_TYPE_GROUP);
}

bool Group::has_dataset(const std::string& name) const {
  if (node_) return find_dataset(name) != nullptr;
  return has_object(handle_.id(), name, H5O_TYPE_DATASET);
}

bool Group::has_attribute(const std::string& name) const {
  if (node_) return node_->attributes.count(name) > 0;
  return !name.empty() && H5Aexists(handle_.id(), name.c_str()) > 0;
}

Group Group::group(const std::string& name) const {
  if (node_) {
    const SnapshotGroup* inner = find_group(name);
    if (!inner) fail(child_path(name), "no such group");
    if (inner->unread) fail(child_path(name), "not read: the file was opened without this group");
    return Group(snapshot_, *inner, child_path(name), file_name_);
  }
  if (!has_group(name)) fail(child_path(name), "no such group");
  hid_t id = H5Gopen2(handle_.id(), name.c_str(), H5P_DEFAULT);
  if (id < 0) fail(child_path(name), "cannot open the group");
  return Group(Handle(id, close_group), child_path(name), file_name_);
}

Group Group::create_group(const std::string& name) const {
  if (node_) fail(child_path(name), "cannot create a group in a file opened for reading");
  Handle plist(H5Pcreate(H5P_GROUP_CREATE), close_plist);
  if (plist.id() < 0 ||
      H5Pset_link_creation_order(plist.id(), H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED) < 0)
    fail(child_path(name), "cannot set up the group's creation properties");
  hid_t id = H5Gcreate2(handle_.id(), name.c_str(), H5P_DEFAULT, plist.id(), H5P_DEFAULT);
  if (id < 0) fail(child_path(name), "cannot create the group");
  return Group(Handle(id, close_group), child_path(name), file_name_);
}

std::vector<std::string> Group::children(Order order) const {
  if (node_) {
    const std::string& problem = order == Order::creation ? node_->creation_order_problem : node_->members_problem;
    if (!problem.empty()) fail(path_, problem);
    return order == Order::creation ? node_->members_by_creation : node_->members_by_name;
  }
  std::string problem;
  std::optional<Links> links = list_links(handle_.id(), order == Order::creation ? H5_INDEX_CRT_ORDER : H5_INDEX_NAME,
                                          std::numeric_limits<std::uint64_t>::max(), problem);
  if (!links) fail(path_, problem);
  return std::move(links->names);
}

std::vector<std::string> Group::string_list_attribute(const std::string& name) const {
  if (!has_attribute(name)) fail(path_, fmt::format("no attribute '{}'", name));
  if (node_) {
    const SnapshotAttribute& attribute = node_->attributes.at(name);
    if (!attribute.problem.empty()) fail(path_, attribute.problem);
    return attribute.strings;
  }
  Handle attribute(H5Aopen(handle_.id(), name.c_str(), H5P_DEFAULT), close_attribute);
  if (attribute.id() < 0) fail(path_, fmt::format("cannot open attribute '{}'", name));
  std::string problem;
  std::optional<std::vector<std::string>> values = read_strings(attribute.id(), problem);
  if (!values) fail(path_, fmt::format("attribute '{}': {}", name, problem));
  return *values;
}

std::string Group::string_attribute(const std::string& name) const {
  std::vector<std::string> values = string_list_attribute(name);
  if (values.size() != 1)
    fail(path_, fmt::format("attribute '{}' holds {} strings where one is expected", name, values.size()));
  return values[0];
}

namespace {

void write_strings(const Group& group, hid_t location, const std::string& name, const std::vector<std::string>& values,
                   bool scalar) {
  auto fail = [&](const char* what) {
    throw IOError(fmt::format("HDF5 file '{}', object '{}': cannot {} attribute '{}'", group.file_name(), group.path(),
                              what, name));
  };
  Handle type(H5Tcopy(H5T_C_S1), close_type);
  if (type.id() < 0 || H5Tset_size(type.id(), H5T_VARIABLE) < 0 || H5Tset_cset(type.id(), H5T_CSET_UTF8) < 0)
    fail("set up the type of");
  hsize_t count = values.size();
  Handle space(scalar ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &count, nullptr), close_space);
  if (space.id() < 0) fail("set up the space of");
  if (H5Aexists(location, name.c_str()) > 0 && H5Adelete(location, name.c_str()) < 0) fail("replace");
  Handle attribute(H5Acreate2(location, name.c_str(), type.id(), space.id(), H5P_DEFAULT, H5P_DEFAULT),
                   close_attribute);
  if (attribute.id() < 0) fail("create");
  std::vector<const char*> pointers;
  for (const auto& v : values) pointers.push_back(v.c_str());
  if (H5Awrite(attribute.id(), type.id(), pointers.data()) < 0) fail("write");
}

}  // namespace

void Group::write_string_attribute(const std::string& name, const std::string& value) const {
  if (node_) fail(path_, "cannot write an attribute in a file opened for reading");
  write_strings(*this, handle_.id(), name, {value}, true);
}

void Group::write_string_list_attribute(const std::string& name, const std::vector<std::string>& values) const {
  if (node_) fail(path_, "cannot write an attribute in a file opened for reading");
  write_strings(*this, handle_.id(), name, values, false);
}

Handle Group::open_dataset(const std::string& name) const {
  // Straight to H5Dopen2 (errors are silenced); the slower walk that tells "missing" from "unreadable"
  // runs only when it fails.
  Handle dataset(H5Dopen2(handle_.id(), name.c_str(), H5P_DEFAULT), close_dataset);
  if (dataset.id() < 0) fail(child_path(name), has_dataset(name) ? "cannot open the dataset" : "no such dataset");
  return dataset;
}

const SnapshotDataset& Group::snapshot_dataset(const std::string& name) const {
  const SnapshotDataset* dataset = find_dataset(name);
  if (!dataset) fail(child_path(name), "no such dataset");
  if (!dataset->problem.empty()) fail(child_path(name), dataset->problem);
  return *dataset;
}

DatasetInfo Group::dataset_info(const std::string& name) const {
  if (node_) return snapshot_dataset(name).info;
  return dataset_info(name, open_dataset(name));
}

DatasetInfo Group::dataset_info(const std::string& name, const Handle& dataset) const {
  std::string problem;
  std::optional<DatasetInfo> info = describe_dataset(dataset.id(), problem);
  if (!info) fail(child_path(name), problem);
  return *info;
}

Tensor Group::read_dataset(const std::string& name, const Shape& expected_shape, DType dtype) const {
  if (dtype != DType::float32 && dtype != DType::float64 && dtype != DType::int64)
    fail(child_path(name),
         fmt::format("cannot read into a {} tensor (float32, float64 or int64 only)", dtype_name(dtype)));
  const SnapshotDataset* stored = node_ ? &snapshot_dataset(name) : nullptr;
  const Handle dataset = node_ ? Handle() : open_dataset(name);
  const DatasetInfo info = node_ ? stored->info : dataset_info(name, dataset);
  if (info.shape != expected_shape)
    fail(child_path(name), fmt::format("the dataset has shape {} where {} is expected", to_string(info.shape),
                                       to_string(expected_shape)));
  if (dtype == DType::int64 && !info.integer)
    fail(child_path(name), "the dataset's elements are not integers, so they cannot be read as int64");
  if (dtype != DType::int64 && !info.dtype) fail(child_path(name), "the dataset's elements are not float32 or float64");
  Tensor out = Tensor::empty(expected_shape, dtype);
  if (out.numel() == 0) return out;
  if (node_) {
    if (!stored->stored) fail(child_path(name), stored->read_problem);
    copy_values(*stored->stored, stored->values, out);
    return out;
  }
  if (H5Dread(dataset.id(), native_type(dtype), H5S_ALL, H5S_ALL, H5P_DEFAULT, out.raw_data()) < 0)
    fail(child_path(name), "cannot read the dataset's data (truncated or corrupt file)");
  return out;
}

void Group::write_dataset(const std::string& name, const Tensor& tensor) const {
  if (node_) fail(child_path(name), "cannot write a dataset in a file opened for reading");
  if (tensor.dtype() != DType::float32 && tensor.dtype() != DType::float64 && tensor.dtype() != DType::int64)
    fail(child_path(name),
         fmt::format("cannot write a {} tensor (float32, float64 or int64 only)", dtype_name(tensor.dtype())));
  Tensor data = tensor.contiguous();
  std::vector<hsize_t> dims(data.shape().begin(), data.shape().end());
  Handle space(data.shape().empty() ? H5Screate(H5S_SCALAR)
                                    : H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr),
               close_space);
  if (space.id() < 0) fail(child_path(name), "cannot set up the dataset's shape");
  Handle dataset(
      H5Dcreate2(handle_.id(), name.c_str(), file_type(data.dtype()), space.id(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
      close_dataset);
  if (dataset.id() < 0) fail(child_path(name), "cannot create the dataset");
  if (data.numel() > 0 &&
      H5Dwrite(dataset.id(), native_type(data.dtype()), H5S_ALL, H5S_ALL, H5P_DEFAULT, data.raw_data()) < 0)
    fail(child_path(name), "cannot write the dataset");
}

File::File(Handle handle, std::string name) : handle_(std::move(handle)), name_(std::move(name)) {}

File::File(std::shared_ptr<const Snapshot> snapshot, std::string name)
    : snapshot_(std::move(snapshot)), name_(std::move(name)) {}

void File::require_writable(const char* what) const {
  if (snapshot_) fail_file(name_, fmt::format("cannot {} a file opened for reading", what));
}

bool File::has_signature(std::span<const std::byte> first_bytes) {
  static constexpr unsigned char kSignature[] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
  return first_bytes.size() >= sizeof kSignature &&
         std::equal(std::begin(kSignature), std::end(kSignature), first_bytes.begin(),
                    [](unsigned char s, std::byte b) { return s == std::to_integer<unsigned char>(b); });
}

File File::open(const std::filesystem::path& path, const OpenOptions& options) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) fail_file(path.string(), "no such file");
  // Read once: the child process and this one open the same bytes.
  const std::vector<std::byte> bytes = read_file_bytes(path);
  return open_bytes(bytes, path.string(), options);
}

File File::open_bytes(std::span<const std::byte> bytes, const std::string& name, const OpenOptions& options) {
  if (!has_signature(bytes)) fail_file(name, "the bytes do not start with the HDF5 signature");
  auto snapshot = std::make_shared<Snapshot>(read_in_child_process(bytes, name, options.unread_groups));
  if (!snapshot->problem.empty()) fail_file(name, snapshot->problem);
  return File(std::move(snapshot), name);
}

File File::create(const std::filesystem::path& path) {
  silence_library_errors();
  Handle fcpl(H5Pcreate(H5P_FILE_CREATE), close_plist);
  if (fcpl.id() < 0 || H5Pset_link_creation_order(fcpl.id(), H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED) < 0)
    fail_file(path.string(), "cannot set up the file's creation properties");
  hid_t id = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, fcpl.id(), H5P_DEFAULT);
  if (id < 0) fail_file(path.string(), "cannot create the file");
  return File(Handle(id, close_file), path.string());
}

File File::create_in_memory(const std::string& name) {
  silence_library_errors();
  Handle fapl(H5Pcreate(H5P_FILE_ACCESS), close_plist);
  if (fapl.id() < 0 || H5Pset_fapl_core(fapl.id(), 64 * 1024, 0) < 0)
    fail_file(name, "cannot set up writing to memory");
  hid_t id = H5Fcreate(name.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.id());
  if (id < 0) fail_file(name, "cannot create the file in memory");
  return File(Handle(id, close_file), name);
}

std::string File::image() const {
  require_writable("take the bytes of");
  flush();
  ssize_t size = H5Fget_file_image(handle_.id(), nullptr, 0);
  std::string out(size > 0 ? static_cast<std::size_t>(size) : 0, '\0');
  if (size <= 0 || H5Fget_file_image(handle_.id(), out.data(), out.size()) != size)
    fail_file(name_, "cannot take the file's bytes");
  return out;
}

Group File::root() const {
  if (snapshot_) return Group(snapshot_, snapshot_->root, "/", name_);
  hid_t id = H5Gopen2(handle_.id(), "/", H5P_DEFAULT);
  if (id < 0) fail_file(name_, "cannot open the root group");
  return Group(Handle(id, close_group), "/", name_);
}

void File::flush() const {
  if (snapshot_) return;
  if (H5Fflush(handle_.id(), H5F_SCOPE_GLOBAL) < 0) fail_file(name_, "cannot write the file to disk");
}

}  // namespace keel::io::hdf5
