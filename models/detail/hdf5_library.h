#pragma once
// What keel's two users of libhdf5's C API share: models/detail/hdf5.cpp (writing files, and the File and
// Group API) and hdf5_snapshot_reader.cpp (reading a file from outside, in the isolated process). Only
// those two include this header, since only they are compiled with libhdf5's include path.
#include <hdf5.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "keel/core/dtype.h"
#include "keel/core/shape.h"
#include "keel/models/detail/hdf5.h"

namespace keel::io::hdf5::library {

static_assert(sizeof(hid_t) == sizeof(std::int64_t), "keel expects libhdf5 1.10+ (64-bit hid_t)");

// Attributes beyond this many bytes are refused: Keras splits its own above 64 KiB, so only a hostile
// file comes near it.
inline constexpr std::uint64_t kMaxAttributeBytes = std::uint64_t{256} << 20;
inline constexpr int kMaxRank = 32;

// libhdf5 prints its error stacks to stderr by default; keel reports errors itself.
void silence_library_errors();

int close_file(std::int64_t id);
int close_group(std::int64_t id);
int close_attribute(std::int64_t id);
int close_dataset(std::int64_t id);
int close_type(std::int64_t id);
int close_space(std::int64_t id);
int close_plist(std::int64_t id);

// The dataspace's dimensions; nullopt for a null space or a rank beyond kMaxRank.
std::optional<Shape> simple_extent(hid_t space);
// Product of the dimensions, or nullopt when it overflows `limit`.
std::optional<std::uint64_t> element_count(const Shape& shape, std::uint64_t limit);
// float32 or float64 for a 4- or 8-byte float type, else nullopt.
std::optional<DType> float_dtype(hid_t type);
hid_t native_type(DType dtype);  // float32, float64 or int64

// An attribute's strings, fixed or variable length, each trimmed at its first NUL (h5py pads fixed-length
// strings with NULs); nullopt with `problem` set when it is not a scalar or list of strings.
std::optional<std::vector<std::string>> read_strings(hid_t attribute, std::string& problem);

// A group's links in `index` order, listed in one pass (H5Lget_name_by_idx per member would sort again for
// each), at most `limit` of them. nullopt with `problem` set when libhdf5 cannot list them in that order.
struct Links {
  std::vector<std::string> names;
  std::vector<bool> hard;  // whether each is a hard link
  bool over_limit = false;  // more than `limit`: `names` holds the first `limit`
};
std::optional<Links> list_links(hid_t group, H5_index_t index, std::uint64_t limit, std::string& problem);

// A dataset's shape and element type; nullopt with `problem` set when it has no simple shape of at most
// kMaxRank dimensions, or libhdf5 cannot read them.
std::optional<DatasetInfo> describe_dataset(hid_t dataset, std::string& problem);

// Opens an HDF5 file image held in memory, read-only and in place: `image` (the span itself and its bytes)
// must outlive the file. A negative id when libhdf5 refuses it.
hid_t open_image(const std::span<const std::byte>& image);

}  // namespace keel::io::hdf5::library
