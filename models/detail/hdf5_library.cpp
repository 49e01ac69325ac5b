#include "keel/models/detail/hdf5_library.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <mutex>

#include "keel/models/detail/hdf5.h"

namespace keel::io::hdf5::library {

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

namespace {

struct LinkListing {
  Links& links;
  std::uint64_t limit;
};

herr_t collect_link(hid_t, const char* name, const H5L_info_t* link, void* data) {
  auto& listing = *static_cast<LinkListing*>(data);
  if (listing.links.names.size() >= listing.limit) return 1;  // stops the iteration
  listing.links.names.emplace_back(name);
  listing.links.hard.push_back(link->type == H5L_TYPE_HARD);
  return 0;
}

}  // namespace

std::optional<Links> list_links(hid_t group, H5_index_t index, std::uint64_t limit, std::string& problem) {
  Links links;
  LinkListing listing{links, limit};
  hsize_t at = 0;
  const herr_t status = H5Literate(group, index, H5_ITER_INC, &at, collect_link, &listing);
  if (status < 0) {
    problem = index == H5_INDEX_CRT_ORDER ? "cannot list members in creation order (the file does not track it)"
                                          : "cannot list the group's members";
    return std::nullopt;
  }
  links.over_limit = status > 0;
  return links;
}

std::optional<DatasetInfo> describe_dataset(hid_t dataset, std::string& problem) {
  Handle type(H5Dget_type(dataset), close_type);
  Handle space(H5Dget_space(dataset), close_space);
  if (type.id() < 0 || space.id() < 0) return problem = "cannot read the dataset's type and shape", std::nullopt;
  std::optional<Shape> shape = simple_extent(space.id());
  if (!shape)
    return problem = "the dataset's shape is not a simple array of at most 32 dimensions", std::nullopt;
  return DatasetInfo{*shape, float_dtype(type.id()), H5Tget_class(type.id()) == H5T_INTEGER};
}

namespace {

// File image callbacks that let the core driver read the caller's bytes in place: libhdf5 would otherwise
// copy the image twice (into the property list, then into the driver), fresh memory the child faults in page
// by page. Read-only: nothing asks to grow or write the image.
void* image_in_place(std::size_t size, H5FD_file_image_op_t, void* image) {
  const auto& bytes = *static_cast<const std::span<const std::byte>*>(image);
  return size == bytes.size() ? const_cast<std::byte*>(bytes.data()) : nullptr;
}
void* copy_in_place(void* dest, const void* src, std::size_t, H5FD_file_image_op_t, void*) {
  return dest == src ? dest : nullptr;
}
void* no_realloc(void*, std::size_t, H5FD_file_image_op_t, void*) { return nullptr; }
herr_t free_nothing(void*, H5FD_file_image_op_t, void*) { return 0; }
void* share_udata(void* image) { return image; }
herr_t free_no_udata(void*) { return 0; }

}  // namespace

hid_t open_image(const std::span<const std::byte>& image) {
  silence_library_errors();
  Handle fapl(H5Pcreate(H5P_FILE_ACCESS), close_plist);
  H5FD_file_image_callbacks_t in_place{image_in_place, copy_in_place, no_realloc, free_nothing,
                                       share_udata,    free_no_udata, const_cast<std::span<const std::byte>*>(&image)};
  // The core driver serves the file from memory; backing_store=0 never writes it anywhere.
  if (fapl.id() < 0 || H5Pset_fapl_core(fapl.id(), 64 * 1024, 0) < 0 ||
      H5Pset_file_image_callbacks(fapl.id(), &in_place) < 0 ||
      H5Pset_file_image(fapl.id(), const_cast<std::byte*>(image.data()), image.size()) < 0)
    return H5I_INVALID_HID;
  // A name of its own: libhdf5 matches open files by name, and a file of the image's name may exist.
  static std::atomic<std::uint64_t> images{0};
  const std::string image_name = fmt::format("keel-hdf5-image-{}", images++);
  return H5Fopen(image_name.c_str(), H5F_ACC_RDONLY, fapl.id());
}

}  // namespace keel::io::hdf5::library
