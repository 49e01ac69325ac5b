#include "keel/models/detail/hdf5_plain_reader.h"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace keel::io::hdf5 {
namespace {

static_assert(std::endian::native == std::endian::little, "the plain HDF5 reader reads little-endian values in place");

constexpr std::uint64_t kUndefined = ~std::uint64_t{0};
constexpr std::size_t kMaxRank = 32;
constexpr std::uint64_t kMaxAttributeBytes = std::uint64_t{256} << 20;  // as hdf5_library.h
constexpr int kMaxTreeDepth = 64;
constexpr std::size_t kMaxHeaderBlocks = 1024;

// Thrown inside this file when the image leaves the plain subset or contradicts itself.
struct NotPlain {};

class Image {
 public:
  explicit Image(std::span<const std::byte> bytes) : bytes_(bytes) {}
  std::uint64_t size() const { return bytes_.size(); }
  const std::byte* at(std::uint64_t offset, std::uint64_t n) const {
    if (offset > bytes_.size() || n > bytes_.size() - offset) throw NotPlain{};
    return bytes_.data() + offset;
  }
  template <class T>
  T read(std::uint64_t offset) const {
    T v;
    std::memcpy(&v, at(offset, sizeof v), sizeof v);
    return v;
  }
  std::uint64_t u8(std::uint64_t o) const { return read<std::uint8_t>(o); }
  std::uint64_t u16(std::uint64_t o) const { return read<std::uint16_t>(o); }
  std::uint64_t u32(std::uint64_t o) const { return read<std::uint32_t>(o); }
  std::uint64_t u64(std::uint64_t o) const { return read<std::uint64_t>(o); }
  void expect_signature(std::uint64_t offset, const char* signature) const {
    if (std::memcmp(at(offset, 4), signature, 4) != 0) throw NotPlain{};
  }

 private:
  std::span<const std::byte> bytes_;
};

std::uint64_t round_up8(std::uint64_t n) { return (n + 7) / 8 * 8; }

struct Datatype {
  enum Kind { integer, floating, fixed_string, variable_string, other } kind = other;
  std::uint64_t size = 0;
  bool is_signed = false;
};

Datatype parse_datatype(const Image& image, std::uint64_t offset) {
  const std::uint64_t type_class = image.u8(offset) & 0x0f;
  const std::uint64_t bits = image.u8(offset + 1) | image.u8(offset + 2) << 8 | image.u8(offset + 3) << 16;
  Datatype t;
  t.size = image.u32(offset + 4);
  switch (type_class) {
    case 0:  // fixed-point: little-endian, every bit used
      if ((bits & 1) != 0 || image.u16(offset + 8) != 0 || image.u16(offset + 10) != 8 * t.size ||
          (t.size != 1 && t.size != 2 && t.size != 4 && t.size != 8))
        throw NotPlain{};
      t.kind = Datatype::integer;
      t.is_signed = (bits & 8) != 0;
      return t;
    case 1: {  // floating point: little-endian IEEE binary32 or binary64 only
      const bool ieee32 = t.size == 4 && image.u16(offset + 10) == 32 && image.u8(offset + 12) == 23 &&
                          image.u8(offset + 13) == 8 && image.u8(offset + 15) == 23 && image.u32(offset + 16) == 127 &&
                          ((bits >> 8) & 0xff) == 31;
      const bool ieee64 = t.size == 8 && image.u16(offset + 10) == 64 && image.u8(offset + 12) == 52 &&
                          image.u8(offset + 13) == 11 && image.u8(offset + 15) == 52 &&
                          image.u32(offset + 16) == 1023 && ((bits >> 8) & 0xff) == 63;
      if ((bits & 0x4f) != 0 || ((bits >> 4) & 3) != 2 || image.u16(offset + 8) != 0 || image.u8(offset + 14) != 0 ||
          !(ieee32 || ieee64))
        throw NotPlain{};
      t.kind = Datatype::floating;
      return t;
    }
    case 3:
      t.kind = Datatype::fixed_string;
      return t;
    case 9:  // variable-length: a string (type 1) or another sequence
      if ((bits & 0x0f) == 1) {
        if (t.size != 16) throw NotPlain{};
        t.kind = Datatype::variable_string;
      }
      return t;
    default:
      return t;
  }
}

// nullopt for a null dataspace or a rank past 32, as hdf5_library.h's simple_extent.
std::optional<Shape> parse_dataspace(const Image& image, std::uint64_t offset) {
  const std::uint64_t version = image.u8(offset), rank = image.u8(offset + 1);
  std::uint64_t dims_at = 0;
  if (version == 1) {
    dims_at = offset + 8;
  } else if (version == 2) {
    const std::uint64_t kind = image.u8(offset + 3);
    if (kind == 2) return std::nullopt;  // null
    if (kind == 0) return Shape{};
    if (kind != 1) throw NotPlain{};
    dims_at = offset + 4;
  } else {
    throw NotPlain{};
  }
  if (rank > kMaxRank) return std::nullopt;
  Shape shape;
  for (std::uint64_t i = 0; i < rank; ++i) {
    const std::uint64_t d = image.u64(dims_at + 8 * i);
    if (d > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return std::nullopt;
    shape.push_back(static_cast<std::int64_t>(d));
  }
  return shape;
}

struct Message {
  std::uint64_t type, offset, size;
};

// The messages of a version-1 object header, following continuation blocks.
std::vector<Message> header_messages(const Image& image, std::uint64_t address) {
  if (image.u8(address) != 1) throw NotPlain{};  // version 2 headers start with "OHDR"
  const std::uint64_t count = image.u16(address + 2);
  std::vector<std::pair<std::uint64_t, std::uint64_t>> blocks{{address + 16, image.u32(address + 8)}};
  std::set<std::uint64_t> seen{address + 16};
  std::vector<Message> messages;
  for (std::size_t b = 0; b < blocks.size() && messages.size() < count; ++b) {
    if (b >= kMaxHeaderBlocks) throw NotPlain{};
    const auto [start, length] = blocks[b];
    image.at(start, length);
    for (std::uint64_t at = start; at + 8 <= start + length && messages.size() < count;) {
      const std::uint64_t type = image.u16(at), size = image.u16(at + 2), flags = image.u8(at + 4);
      if (size > start + length - at - 8 || (flags & 2) != 0) throw NotPlain{};  // past the block, or shared
      if (type == 0x10) {  // continuation
        const std::uint64_t next = image.u64(at + 8), next_length = image.u64(at + 16);
        if (!seen.insert(next).second) throw NotPlain{};
        blocks.emplace_back(next, next_length);
      }
      messages.push_back({type, at + 8, size});
      at += 8 + size;
    }
  }
  return messages;
}

class Reader {
 public:
  Reader(const Image& image, const SnapshotLimits& limits) : image_(image), limits_(limits) {}

  void read_group(std::uint64_t header, SnapshotGroup& out, int depth) {
    if (depth > limits_.max_depth || !open_objects_.insert(header).second) throw NotPlain{};
    std::uint64_t tree = kUndefined, heap = kUndefined;
    for (const Message& m : header_messages(image_, header)) {
      if (m.type == 0x11) {
        tree = image_.u64(m.offset);
        heap = image_.u64(m.offset + 8);
      } else if (m.type == 0x0c) {
        read_attribute(m, out);
      } else if (m.type == 0x02 || m.type == 0x06 || m.type == 0x0a || m.type == 0x15) {
        throw NotPlain{};  // new-style links, or dense attributes
      }
    }
    if (tree == kUndefined) throw NotPlain{};
    std::vector<Entry> entries;
    std::set<std::uint64_t> nodes;
    collect_entries(tree, heap, entries, nodes, 0);
    std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.name < b.name; });
    for (const Entry& e : entries) out.members_by_name.push_back(e.name);
    out.creation_order_problem = "cannot list members in creation order (the file does not track it)";
    for (const Entry& e : entries) {
      if (++objects_ > limits_.max_objects) throw NotPlain{};
      if (e.soft_link) continue;  // listed, never followed
      const Kind kind = kind_of(e.header);
      if (kind == Kind::group && depth == 0 &&
          std::find(limits_.unread_groups.begin(), limits_.unread_groups.end(), e.name) != limits_.unread_groups.end())
        out.groups[e.name].unread = true;
      else if (kind == Kind::group)
        read_group(e.header, out.groups[e.name], depth + 1);
      else if (kind == Kind::dataset)
        read_dataset(e.header, out.datasets[e.name]);
    }
  }

 private:
  struct Entry {
    std::string name;
    std::uint64_t header;
    bool soft_link;
  };
  enum class Kind { group, dataset, other };

  Kind kind_of(std::uint64_t header) const {
    Kind kind = Kind::other;
    for (const Message& m : header_messages(image_, header)) {
      if (m.type == 0x11 || m.type == 0x02 || m.type == 0x06) kind = Kind::group;
      if (m.type == 0x08) kind = Kind::dataset;
    }
    return kind;
  }

  std::string heap_name(std::uint64_t heap, std::uint64_t offset) const {
    image_.expect_signature(heap, "HEAP");
    const std::uint64_t size = image_.u64(heap + 8), data = image_.u64(heap + 24);
    if (image_.u8(heap + 4) != 0 || offset >= size) throw NotPlain{};
    const auto* begin = reinterpret_cast<const char*>(image_.at(data, size));
    const auto* end = std::find(begin + offset, begin + size, '\0');
    if (end == begin + size || end == begin + offset) throw NotPlain{};
    return {begin + offset, end};
  }

  // The symbol table entries under a version-1 group B-tree node, left to right.
  void collect_entries(std::uint64_t node, std::uint64_t heap, std::vector<Entry>& out, std::set<std::uint64_t>& seen,
                       int depth) {
    if (depth > kMaxTreeDepth || !seen.insert(node).second) throw NotPlain{};
    image_.expect_signature(node, "TREE");
    if (image_.u8(node + 4) != 0) throw NotPlain{};
    const std::uint64_t level = image_.u8(node + 5), used = image_.u16(node + 6);
    for (std::uint64_t i = 0; i < used; ++i) {
      const std::uint64_t child = image_.u64(node + 24 + 8 + 16 * i);
      if (level > 0) {
        collect_entries(child, heap, out, seen, depth + 1);
        continue;
      }
      if (!seen.insert(child).second) throw NotPlain{};
      image_.expect_signature(child, "SNOD");
      if (image_.u8(child + 4) != 1) throw NotPlain{};
      const std::uint64_t symbols = image_.u16(child + 6);
      for (std::uint64_t s = 0; s < symbols; ++s) {
        const std::uint64_t entry = child + 8 + 40 * s;
        const std::uint64_t cache = image_.u32(entry + 16);
        if (cache > 2) throw NotPlain{};
        out.push_back({heap_name(heap, image_.u64(entry)), image_.u64(entry + 8), cache == 2});
        if (out.size() > limits_.max_objects) throw NotPlain{};
      }
    }
  }

  // The bytes of object `index` of the global heap collection at `collection` (each collection is parsed
  // once, so many strings in one collection cost no more than the collection).
  std::span<const std::byte> heap_object(std::uint64_t collection, std::uint64_t index) {
    auto [cached, added] = collections_.try_emplace(collection);
    if (added) {
      image_.expect_signature(collection, "GCOL");
      const std::uint64_t size = image_.u64(collection + 8);
      if (image_.u8(collection + 4) != 1 || size < 16) throw NotPlain{};
      image_.at(collection, size);
      for (std::uint64_t at = collection + 16; at + 16 <= collection + size;) {
        const std::uint64_t object = image_.u16(at), length = image_.u64(at + 8);
        if (object == 0) break;  // free space
        if (length > collection + size - at - 16) throw NotPlain{};
        cached->second.emplace(object, std::span(image_.at(at + 16, length), static_cast<std::size_t>(length)));
        at += 16 + round_up8(length);
      }
    }
    auto it = cached->second.find(index);
    if (it == cached->second.end()) throw NotPlain{};
    return it->second;
  }

  // As hdf5_library.h's read_strings, with the same problem texts.
  void read_attribute(const Message& m, SnapshotGroup& group) {
    const std::uint64_t version = image_.u8(m.offset);
    const std::uint64_t name_size = image_.u16(m.offset + 2), type_size = image_.u16(m.offset + 4);
    const std::uint64_t space_size = image_.u16(m.offset + 6);
    std::uint64_t name_at = 0, type_at = 0, space_at = 0, data_at = 0;
    if (version == 1) {
      name_at = m.offset + 8;
      type_at = name_at + round_up8(name_size);
      space_at = type_at + round_up8(type_size);
      data_at = space_at + round_up8(space_size);
    } else if (version == 2 || version == 3) {
      if ((image_.u8(m.offset + 1) & 3) != 0) throw NotPlain{};  // shared type or space
      name_at = m.offset + (version == 3 ? 9 : 8);
      type_at = name_at + name_size;
      space_at = type_at + type_size;
      data_at = space_at + space_size;
    } else {
      throw NotPlain{};
    }
    if (name_size == 0 || data_at > m.offset + m.size) throw NotPlain{};
    const auto* name_bytes = reinterpret_cast<const char*>(image_.at(name_at, name_size));
    const std::string name(name_bytes, std::find(name_bytes, name_bytes + name_size, '\0'));
    SnapshotAttribute& attribute = group.attributes[name];
    const auto problem = [&](const char* what) { attribute.problem = fmt::format("attribute '{}': {}", name, what); };
    const std::optional<Shape> shape = parse_dataspace(image_, space_at);
    if (!shape || shape->size() > 1) return problem("it is neither a scalar nor a list of strings");
    const std::optional<std::uint64_t> count = element_count(*shape, kMaxAttributeBytes);
    if (!count) return problem("it holds too many strings");
    if (*count == 0 && !shape->empty()) return;
    const Datatype type = parse_datatype(image_, type_at);
    if (type.kind != Datatype::fixed_string && type.kind != Datatype::variable_string)
      return problem("it is not a string attribute");
    const std::uint64_t data_end = m.offset + m.size;
    if (type.kind == Datatype::variable_string) {
      if (*count * 16 > data_end - data_at) throw NotPlain{};
      std::uint64_t total = 0;
      for (std::uint64_t i = 0; i < *count; ++i) {
        const std::uint64_t element = data_at + 16 * i;
        const std::uint64_t length = image_.u32(element), collection = image_.u64(element + 4);
        std::string s;
        if (collection != 0 && collection != kUndefined) {
          const std::span<const std::byte> object = heap_object(collection, image_.u32(element + 12));
          if (length > object.size()) throw NotPlain{};
          const auto* begin = reinterpret_cast<const char*>(object.data());
          s.assign(begin, std::find(begin, begin + length, '\0'));
        } else if (length != 0) {
          throw NotPlain{};
        }
        total += s.size();
        attribute.strings.push_back(std::move(s));
      }
      if (total > kMaxAttributeBytes) {
        attribute.strings.clear();
        return problem("its strings are too long");
      }
      return;
    }
    if (type.size == 0 || *count * type.size > kMaxAttributeBytes) return problem("its strings are too long");
    if (*count * type.size > data_end - data_at) throw NotPlain{};
    for (std::uint64_t i = 0; i < *count; ++i) {
      const auto* begin = reinterpret_cast<const char*>(image_.at(data_at + i * type.size, type.size));
      attribute.strings.emplace_back(begin, std::find(begin, begin + type.size, '\0'));
    }
  }

  // As hdf5_snapshot_reader.cpp's read_dataset, with the same problem texts.
  void read_dataset(std::uint64_t header, SnapshotDataset& out) {
    std::optional<Message> space, type, layout;
    for (const Message& m : header_messages(image_, header)) {
      if (m.type == 0x01) space = m;
      if (m.type == 0x03) type = m;
      if (m.type == 0x08) layout = m;
      if (m.type == 0x0b) throw NotPlain{};  // filters (compression)
    }
    if (!space || !type || !layout) throw NotPlain{};
    const std::optional<Shape> shape = parse_dataspace(image_, space->offset);
    if (!shape) {
      out.problem = "the dataset's shape is not a simple array of at most 32 dimensions";
      return;
    }
    const Datatype t = parse_datatype(image_, type->offset);
    const std::optional<DType> file_dtype =
        t.kind == Datatype::floating ? std::optional<DType>(t.size == 4 ? DType::float32 : DType::float64)
                                     : std::nullopt;
    out.info = {*shape, file_dtype, t.kind == Datatype::integer};
    const std::optional<DType> stored = file_dtype ? file_dtype
                                        : out.info.integer ? std::optional<DType>(DType::int64)
                                                           : std::nullopt;
    if (!stored) return;
    const std::optional<std::uint64_t> count =
        element_count(*shape, (limits_.max_value_bytes - value_bytes_) / dtype_size(*stored));
    if (!count) {
      out.read_problem = "its values are more than a file of this size could hold, so they were not read";
      return;
    }
    const std::uint64_t bytes = *count * t.size;
    const std::byte* data = stored_bytes(*layout, bytes);
    out.values.resize(*count * dtype_size(*stored));
    if (t.kind == Datatype::floating) {
      std::memcpy(out.values.data(), data, bytes);
    } else {
      auto* values = reinterpret_cast<std::int64_t*>(out.values.data());
      for (std::uint64_t i = 0; i < *count; ++i) values[i] = integer_at(data + i * t.size, t);
    }
    value_bytes_ += out.values.size();
    out.stored = stored;
  }

  // The `bytes` bytes of a dataset's values: layout message version 3, compact or contiguous.
  const std::byte* stored_bytes(const Message& layout, std::uint64_t bytes) const {
    if (image_.u8(layout.offset) != 3) throw NotPlain{};
    const std::uint64_t layout_class = image_.u8(layout.offset + 1);
    if (layout_class == 0) {
      if (image_.u16(layout.offset + 2) < bytes || layout.size < 4 + bytes) throw NotPlain{};
      return bytes == 0 ? nullptr : image_.at(layout.offset + 4, bytes);
    }
    if (layout_class != 1) throw NotPlain{};  // chunked
    const std::uint64_t address = image_.u64(layout.offset + 2), size = image_.u64(layout.offset + 10);
    if (bytes == 0) return nullptr;
    if (address == kUndefined || size < bytes) throw NotPlain{};  // never written: libhdf5 gives fill values
    return image_.at(address, bytes);
  }

  static std::int64_t integer_at(const std::byte* p, const Datatype& t) {
    std::uint64_t raw = 0;
    std::memcpy(&raw, p, t.size);
    if (t.is_signed && t.size < 8 && (raw >> (8 * t.size - 1)) != 0) raw |= ~std::uint64_t{0} << (8 * t.size);
    if (!t.is_signed && t.size == 8 && raw > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      throw NotPlain{};  // libhdf5 would clip it
    return static_cast<std::int64_t>(raw);
  }

  const Image& image_;
  const SnapshotLimits& limits_;
  std::uint64_t objects_ = 0;
  std::uint64_t value_bytes_ = 0;
  std::set<std::uint64_t> open_objects_;
  std::map<std::uint64_t, std::map<std::uint64_t, std::span<const std::byte>>> collections_;
};

}  // namespace

std::optional<Snapshot> read_plain_snapshot(std::span<const std::byte> bytes, const SnapshotLimits& limits) {
  const Image image(bytes);
  try {
    // Superblock version 0 at offset 0, 8-byte offsets and lengths, base address 0, no driver block.
    if (image.size() < 96 || image.u8(8) != 0 || image.u8(13) != 8 || image.u8(14) != 8 || image.u64(24) != 0 ||
        image.u64(48) != kUndefined)
      return std::nullopt;
    Snapshot snapshot;
    Reader(image, limits).read_group(image.u64(56 + 8), snapshot.root, 0);
    return snapshot;
  } catch (const NotPlain&) {
    return std::nullopt;
  }
}

}  // namespace keel::io::hdf5
