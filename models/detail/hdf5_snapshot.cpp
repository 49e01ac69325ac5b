#include "keel/models/detail/hdf5_snapshot.h"

#include <fmt/format.h>

#include <cstring>
#include <type_traits>

#include "keel/core/error.h"

namespace keel::io::hdf5 {
namespace {

constexpr std::uint64_t kMagic = 0x3170616e732d6835;  // "h5-snap1"
constexpr int kMaxDecodeDepth = 256;

// Element types on the wire: 0 none, 1 float32, 2 float64, 3 int64.
std::uint8_t type_code(const std::optional<DType>& dtype) {
  if (!dtype) return 0;
  return *dtype == DType::float32 ? 1 : *dtype == DType::float64 ? 2 : 3;
}

class Writer {
 public:
  explicit Writer(std::span<std::byte> out) : out_(out) {}
  bool overflowed() const { return overflowed_; }
  std::size_t size() const { return at_; }

  void bytes(const void* data, std::size_t n) {
    if (overflowed_ || n > out_.size() - at_) {
      overflowed_ = true;
      return;
    }
    if (n > 0) std::memcpy(out_.data() + at_, data, n);
    at_ += n;
  }
  template <class T>
  void value(T v) {
    static_assert(std::is_trivially_copyable_v<T>);
    bytes(&v, sizeof v);
  }
  void text(const std::string& s) {
    value<std::uint64_t>(s.size());
    bytes(s.data(), s.size());
  }
  void texts(const std::vector<std::string>& list) {
    value<std::uint64_t>(list.size());
    for (const std::string& s : list) text(s);
  }

  void group(const SnapshotGroup& g) {
    value<std::uint8_t>(g.unread);
    value<std::uint64_t>(g.attributes.size());
    for (const auto& [name, attribute] : g.attributes) {
      text(name);
      text(attribute.problem);
      texts(attribute.strings);
    }
    text(g.members_problem);
    texts(g.members_by_name);
    text(g.creation_order_problem);
    texts(g.members_by_creation);
    value<std::uint64_t>(g.groups.size());
    for (const auto& [name, inner] : g.groups) {
      text(name);
      group(inner);
    }
    value<std::uint64_t>(g.datasets.size());
    for (const auto& [name, dataset] : g.datasets) {
      text(name);
      text(dataset.problem);
      value<std::uint64_t>(dataset.info.shape.size());
      for (std::int64_t d : dataset.info.shape) value(d);
      value(type_code(dataset.info.dtype));
      value<std::uint8_t>(dataset.info.integer);
      value(type_code(dataset.stored));
      text(dataset.read_problem);
      value<std::uint64_t>(dataset.values.size());
      bytes(dataset.values.data(), dataset.values.size());
    }
  }

 private:
  std::span<std::byte> out_;
  std::size_t at_ = 0;
  bool overflowed_ = false;
};

class Reader {
 public:
  Reader(std::span<const std::byte> in, const std::string& file_name) : in_(in), file_name_(file_name) {}
  bool at_end() const { return at_ == in_.size(); }

  [[noreturn]] void fail(const std::string& what) const {
    throw IOError(fmt::format("HDF5 file '{}': the process that read it sent back a malformed description ({} at "
                              "byte {})",
                              file_name_, what, at_));
  }
  const std::byte* take(std::uint64_t n) {
    if (n > in_.size() - at_) fail("a length past the end");
    const std::byte* p = in_.data() + at_;
    at_ += static_cast<std::size_t>(n);
    return p;
  }
  template <class T>
  T value() {
    T v;
    std::memcpy(&v, take(sizeof v), sizeof v);
    return v;
  }
  // A count of items each taking at least `item_bytes`: never more than the bytes left could hold.
  std::uint64_t count(std::uint64_t item_bytes) {
    const auto n = value<std::uint64_t>();
    if (n > (in_.size() - at_) / item_bytes) fail("a count past the end");
    return n;
  }
  std::string text() {
    const auto n = count(1);
    const std::byte* p = take(n);
    return {reinterpret_cast<const char*>(p), static_cast<std::size_t>(n)};
  }
  std::vector<std::string> texts() {
    std::vector<std::string> out(count(sizeof(std::uint64_t)));
    for (std::string& s : out) s = text();
    return out;
  }
  std::optional<DType> dtype(bool allow_int64) {
    switch (value<std::uint8_t>()) {
      case 0: return std::nullopt;
      case 1: return DType::float32;
      case 2: return DType::float64;
      case 3:
        if (allow_int64) return DType::int64;
        [[fallthrough]];
      default: fail("an unknown element type");
    }
  }

  void group(SnapshotGroup& g, int depth) {
    if (depth > kMaxDecodeDepth) fail("groups nested too deep");
    g.unread = value<std::uint8_t>() != 0;
    for (std::uint64_t i = 0, n = count(3 * sizeof(std::uint64_t)); i < n; ++i) {
      std::string name = text();
      SnapshotAttribute& attribute = g.attributes[name];
      attribute.problem = text();
      attribute.strings = texts();
    }
    g.members_problem = text();
    g.members_by_name = texts();
    g.creation_order_problem = text();
    g.members_by_creation = texts();
    for (std::uint64_t i = 0, n = count(sizeof(std::uint64_t)); i < n; ++i) {
      std::string name = text();
      group(g.groups[name], depth + 1);
    }
    for (std::uint64_t i = 0, n = count(sizeof(std::uint64_t)); i < n; ++i) {
      std::string name = text();
      SnapshotDataset& dataset = g.datasets[name];
      dataset.problem = text();
      const std::uint64_t rank = count(sizeof(std::int64_t));
      for (std::uint64_t d = 0; d < rank; ++d) {
        const auto size = value<std::int64_t>();
        if (size < 0) fail("a negative dimension");
        dataset.info.shape.push_back(size);
      }
      dataset.info.dtype = dtype(false);
      dataset.info.integer = value<std::uint8_t>() != 0;
      dataset.stored = dtype(true);
      dataset.read_problem = text();
      const std::uint64_t size = count(1);
      const std::byte* values = take(size);
      if (dataset.stored) {
        // The values must be exactly the described array, in the type the description allows.
        const bool type_fits = *dataset.stored == DType::int64 ? dataset.info.integer
                                                               : dataset.info.dtype == dataset.stored;
        std::uint64_t elements = 1;
        for (std::int64_t d : dataset.info.shape) {
          if (d != 0 && elements > size / static_cast<std::uint64_t>(d)) fail("values shorter than the shape");
          elements *= static_cast<std::uint64_t>(d);
        }
        if (!type_fits || elements * dtype_size(*dataset.stored) != size) fail("values that do not fit the shape");
        dataset.values.assign(values, values + size);
      } else if (size != 0) {
        fail("values of an unread dataset");
      }
    }
  }

 private:
  std::span<const std::byte> in_;
  const std::string& file_name_;
  std::size_t at_ = 0;
};

}  // namespace

std::optional<std::size_t> encode(const Snapshot& snapshot, std::span<std::byte> out) {
  Writer writer(out);
  writer.value(kMagic);
  writer.text(snapshot.problem);
  writer.group(snapshot.root);
  if (writer.overflowed()) return std::nullopt;
  return writer.size();
}

Snapshot decode(std::span<const std::byte> bytes, const std::string& file_name) {
  Reader reader(bytes, file_name);
  if (reader.value<std::uint64_t>() != kMagic) reader.fail("no snapshot header");
  Snapshot snapshot;
  snapshot.problem = reader.text();
  reader.group(snapshot.root, 0);
  if (!reader.at_end()) reader.fail("bytes after the end");
  return snapshot;
}

}  // namespace keel::io::hdf5
