#include "keel/models/detail/hdf5.h"

#include <fmt/format.h>
#include <hdf5.h>

#include <algorithm>
#include <atomic>
#include <iterator>
#include <mutex>

#include "keel/core/error.h"
#include "keel/models/detail/atomic_file.h"
#include "keel/models/detail/hdf5_isolation.h"

namespace keel::io::hdf5 {
namespace {

static_assert(sizeof(hid_t) == sizeof(std::int64_t), "keel expects libhdf5 1.10+ (64-bit hid_t)");

// Attributes beyond this many bytes are refused: Keras splits its own above 64 KiB, so only a hostile
// file comes near it.
constexpr std::uint64_t kMaxAttributeBytes = std::uint64_t{256} << 20;
constexpr int kMaxRank = 32;

void silence_library_errors() {
  static std::once_flag once;
  std::call_once(once, [] { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); });
}

int close_file(std::int64_t id) { return H5Fclose(id); }
int close_group(std::int64_t id) { return H5Gclose(id); }
int close_attribute(std::int64_t id) { return H5Aclose(id); }
int close_dataset(std::int64_t id) { return H5Dclose(id); }
int close_type(std::int64_t id) { return H5Tclose(id); }
int close_space(std::int64_t id) { return H5Sclose(id); }
int close_plist(std::int64_t id) { return H5Pclose(id); }

[[noreturn]] void fail_file(const std::string& file, const std::string& problem) {
  throw IOError(fmt::format("HDF5 file '{}': {}", file, problem));
}

// The dataspace's dimensions; an IOError for a null space or a rank beyond kMaxRank.
std::optional<Shape> simple_extent(hid_t space) {
  H5S_class_t kind = H5Sget_simple_extent_type(space);
  if (kind == H5S_SCALAR) return Shape{};
  if (kind != H5S_SIMPLE) return std::nullopt;
  int rank = H5Sget_simple_extent_ndims(space);
  if (rank < 0 || rank > kMaxRank) return std::nullopt;
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
  if (H5Sget_simple_extent_dims(space, dims.data(), nullptr) < 0) return std::nullopt;
  Shape shape;
  for (hsize_t d : dims) {
    if (d > static_cast<hsize_t>(INT64_MAX)) return std::nullopt;
    shape.push_back(static_cast<std::int64_t>(d));
  }
  return shape;
}

// Product of the dimensions, or nullopt when it overflows `limit`.
std::optional<std::uint64_t> element_count(const Shape& shape, std::uint64_t limit) {
  std::uint64_t n = 1;
  for (std::int64_t d : shape) {
    if (d != 0 && n > limit / static_cast<std::uint64_t>(d)) return std::nullopt;
    n *= static_cast<std::uint64_t>(d);
  }
  return n;
}

std::optional<DType> float_dtype(hid_t type) {
  if (H5Tget_class(type) != H5T_FLOAT) return std::nullopt;
  std::size_t size = H5Tget_size(type);
  if (size == 4) return DType::float32;
  if (size == 8) return DType::float64;
  return std::nullopt;
}

hid_t native_type(DType dtype) {
  if (dtype == DType::int64) return H5T_NATIVE_INT64;
  return dtype == DType::float64 ? H5T_NATIVE_DOUBLE : H5T_NATIVE_FLOAT;
}

hid_t file_type(DType dtype) {
  if (dtype == DType::int64) return H5T_STD_I64LE;
  return dtype == DType::float64 ? H5T_IEEE_F64LE : H5T_IEEE_F32LE;
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

bool Group::has_group(const std::string& name) const { return has_object(handle_.id(), name, H5O_TYPE_GROUP); }

bool Group::has_dataset(const std::string& name) const { return has_object(handle_.id(), name, H5O_TYPE_DATASET); }

bool Group::has_attribute(const std::string& name) const {
  return !name.empty() && H5Aexists(handle_.id(), name.c_str()) > 0;
}

Group Group::group(const std::string& name) const {
  if (!has_group(name)) fail(child_path(name), "no such group");
  hid_t id = H5Gopen2(handle_.id(), name.c_str(), H5P_DEFAULT);
  if (id < 0) fail(child_path(name), "cannot open the group");
  return Group(Handle(id, close_group), child_path(name), file_name_);
}

Group Group::create_group(const std::string& name) const {
  Handle plist(H5Pcreate(H5P_GROUP_CREATE), close_plist);
  if (plist.id() < 0 ||
      H5Pset_link_creation_order(plist.id(), H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED) < 0)
    fail(child_path(name), "cannot set up the group's creation properties");
  hid_t id = H5Gcreate2(handle_.id(), name.c_str(), H5P_DEFAULT, plist.id(), H5P_DEFAULT);
  if (id < 0) fail(child_path(name), "cannot create the group");
  return Group(Handle(id, close_group), child_path(name), file_name_);
}

std::vector<std::string> Group::children(Order order) const {
  H5G_info_t info;
  if (H5Gget_info(handle_.id(), &info) < 0) fail(path_, "cannot read the group's member count");
  H5_index_t index = order == Order::creation ? H5_INDEX_CRT_ORDER : H5_INDEX_NAME;
  std::vector<std::string> names;
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    ssize_t length = H5Lget_name_by_idx(handle_.id(), ".", index, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
    if (length < 0)
      fail(path_, order == Order::creation ? "cannot list members in creation order (the file does not track it)"
                                           : "cannot list the group's members");
    std::string name(static_cast<std::size_t>(length), '\0');
    if (H5Lget_name_by_idx(handle_.id(), ".", index, H5_ITER_INC, i, name.data(), name.size() + 1, H5P_DEFAULT) < 0)
      fail(path_, "cannot read a member's name");
    names.push_back(std::move(name));
  }
  return names;
}

namespace {

// An attribute's strings, fixed or variable length, each trimmed at its first NUL (h5py pads fixed-length
// strings with NULs).
std::optional<std::vector<std::string>> read_strings(hid_t attribute, std::string& problem) {
  Handle type(H5Aget_type(attribute), close_type);
  Handle space(H5Aget_space(attribute), close_space);
  if (type.id() < 0 || space.id() < 0) return problem = "cannot read its type", std::nullopt;
  std::optional<Shape> shape = simple_extent(space.id());
  if (!shape || shape->size() > 1) return problem = "it is neither a scalar nor a list of strings", std::nullopt;
  std::optional<std::uint64_t> count = element_count(*shape, kMaxAttributeBytes);
  if (!count) return problem = "it holds too many strings", std::nullopt;
  std::vector<std::string> out;
  // h5py stores an empty Python list as an empty float64 array (Keras's weight_names of a layer without weights).
  if (*count == 0 && !shape->empty()) return out;
  if (H5Tget_class(type.id()) != H5T_STRING) return problem = "it is not a string attribute", std::nullopt;
  if (H5Tis_variable_str(type.id()) > 0) {
    Handle memtype(H5Tcopy(H5T_C_S1), close_type);
    if (memtype.id() < 0 || H5Tset_size(memtype.id(), H5T_VARIABLE) < 0 ||
        H5Tset_cset(memtype.id(), H5Tget_cset(type.id())) < 0)
      return problem = "cannot set up a string type", std::nullopt;
    std::vector<char*> pointers(*count, nullptr);
    if (H5Aread(attribute, memtype.id(), pointers.data()) < 0) return problem = "cannot read it", std::nullopt;
    std::uint64_t total = 0;
    for (char* p : pointers) {
      std::string s = p ? std::string(p) : std::string();
      total += s.size();
      out.push_back(std::move(s));
    }
    H5Dvlen_reclaim(memtype.id(), space.id(), H5P_DEFAULT, pointers.data());
    if (total > kMaxAttributeBytes) return problem = "its strings are too long", std::nullopt;
    return out;
  }
  std::size_t size = H5Tget_size(type.id());
  if (size == 0 || *count * size > kMaxAttributeBytes) return problem = "its strings are too long", std::nullopt;
  std::vector<char> buffer(*count * size);
  if (H5Aread(attribute, type.id(), buffer.data()) < 0) return problem = "cannot read it", std::nullopt;
  for (std::uint64_t i = 0; i < *count; ++i) {
    const char* begin = buffer.data() + i * size;
    out.emplace_back(begin, std::find(begin, begin + size, '\0'));
  }
  return out;
}

}  // namespace

std::vector<std::string> Group::string_list_attribute(const std::string& name) const {
  if (!has_attribute(name)) fail(path_, fmt::format("no attribute '{}'", name));
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
  write_strings(*this, handle_.id(), name, {value}, true);
}

void Group::write_string_list_attribute(const std::string& name, const std::vector<std::string>& values) const {
  write_strings(*this, handle_.id(), name, values, false);
}

Handle Group::open_dataset(const std::string& name) const {
  // Straight to H5Dopen2 (errors are silenced); the slower walk that tells "missing" from "unreadable"
  // runs only when it fails.
  Handle dataset(H5Dopen2(handle_.id(), name.c_str(), H5P_DEFAULT), close_dataset);
  if (dataset.id() < 0) fail(child_path(name), has_dataset(name) ? "cannot open the dataset" : "no such dataset");
  return dataset;
}

DatasetInfo Group::dataset_info(const std::string& name) const { return dataset_info(name, open_dataset(name)); }

DatasetInfo Group::dataset_info(const std::string& name, const Handle& dataset) const {
  Handle type(H5Dget_type(dataset.id()), close_type);
  Handle space(H5Dget_space(dataset.id()), close_space);
  if (type.id() < 0 || space.id() < 0) fail(child_path(name), "cannot read the dataset's type and shape");
  std::optional<Shape> shape = simple_extent(space.id());
  if (!shape) fail(child_path(name), "the dataset's shape is not a simple array of at most 32 dimensions");
  return {*shape, float_dtype(type.id()), H5Tget_class(type.id()) == H5T_INTEGER};
}

Tensor Group::read_dataset(const std::string& name, const Shape& expected_shape, DType dtype) const {
  if (dtype != DType::float32 && dtype != DType::float64 && dtype != DType::int64)
    fail(child_path(name),
         fmt::format("cannot read into a {} tensor (float32, float64 or int64 only)", dtype_name(dtype)));
  const Handle dataset = open_dataset(name);
  const DatasetInfo info = dataset_info(name, dataset);
  if (info.shape != expected_shape)
    fail(child_path(name), fmt::format("the dataset has shape {} where {} is expected", to_string(info.shape),
                                       to_string(expected_shape)));
  if (dtype == DType::int64 && !info.integer)
    fail(child_path(name), "the dataset's elements are not integers, so they cannot be read as int64");
  if (dtype != DType::int64 && !info.dtype) fail(child_path(name), "the dataset's elements are not float32 or float64");
  Tensor out = Tensor::empty(expected_shape, dtype);
  if (out.numel() == 0) return out;
  if (H5Dread(dataset.id(), native_type(dtype), H5S_ALL, H5S_ALL, H5P_DEFAULT, out.raw_data()) < 0)
    fail(child_path(name), "cannot read the dataset's data (truncated or corrupt file)");
  return out;
}

void Group::write_dataset(const std::string& name, const Tensor& tensor) const {
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

bool File::has_signature(std::span<const std::byte> first_bytes) {
  static constexpr unsigned char kSignature[] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
  return first_bytes.size() >= sizeof kSignature &&
         std::equal(std::begin(kSignature), std::end(kSignature), first_bytes.begin(),
                    [](unsigned char s, std::byte b) { return s == std::to_integer<unsigned char>(b); });
}

File File::open(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) fail_file(path.string(), "no such file");
  // Read once: the child process and this one open the same bytes.
  const std::vector<std::byte> bytes = read_file_bytes(path);
  return open_bytes(bytes, path.string());
}

File File::open_bytes(std::span<const std::byte> bytes, const std::string& name) {
  silence_library_errors();
  if (!has_signature(bytes)) fail_file(name, "the bytes do not start with the HDF5 signature");
  check_in_child_process(bytes, name);
  Handle fapl(H5Pcreate(H5P_FILE_ACCESS), close_plist);
  // The core driver serves the file from memory; backing_store=0 never writes it anywhere.
  if (fapl.id() < 0 || H5Pset_fapl_core(fapl.id(), 64 * 1024, 0) < 0 ||
      H5Pset_file_image(fapl.id(), const_cast<std::byte*>(bytes.data()), bytes.size()) < 0)
    fail_file(name, "cannot set up reading from memory");
  // A name of its own: libhdf5 matches open files by name, and the image's path may be open for writing.
  static std::atomic<std::uint64_t> images{0};
  const std::string image_name = fmt::format("keel-hdf5-image-{}", images++);
  hid_t id = H5Fopen(image_name.c_str(), H5F_ACC_RDONLY, fapl.id());
  if (id < 0) fail_file(name, "not a readable HDF5 file (truncated, corrupt or another format)");
  return File(Handle(id, close_file), name);
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
  flush();
  ssize_t size = H5Fget_file_image(handle_.id(), nullptr, 0);
  std::string out(size > 0 ? static_cast<std::size_t>(size) : 0, '\0');
  if (size <= 0 || H5Fget_file_image(handle_.id(), out.data(), out.size()) != size)
    fail_file(name_, "cannot take the file's bytes");
  return out;
}

Group File::root() const {
  hid_t id = H5Gopen2(handle_.id(), "/", H5P_DEFAULT);
  if (id < 0) fail_file(name_, "cannot open the root group");
  return Group(Handle(id, close_group), "/", name_);
}

void File::flush() const {
  if (H5Fflush(handle_.id(), H5F_SCOPE_GLOBAL) < 0) fail_file(name_, "cannot write the file to disk");
}

}  // namespace keel::io::hdf5
