#include "keel/data/npy.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <cstring>
#include <fstream>
#include <optional>
#include <system_error>
#include <vector>

#include "keel/core/error.h"
#include "keel/data/detail/atomic_write.h"

namespace keel::data {
namespace {

static_assert(std::endian::native == std::endian::little, "the .npy reader and writer assume a little-endian host");

namespace fs = std::filesystem;

constexpr std::string_view kMagic("\x93NUMPY", 6);
// NumPy's own reader refuses longer headers by default (numpy.lib.format, max_header_size).
constexpr std::size_t kMaxHeaderSize = 10000;
constexpr std::size_t kMaxPrefixSize = kMagic.size() + 2 + 4;
constexpr std::size_t kHeaderAlignment = 64;

[[noreturn]] void fail(std::string_view source, const std::string& problem) {
  throw IOError(fmt::format("{}: {}", source, problem));
}

enum class ElementKind { floating, signed_integer, unsigned_integer, boolean };

struct ElementType {
  ElementKind kind;
  std::size_t size;
  bool big_endian;
};

struct NpyHeader {
  ElementType element;
  bool fortran_order = false;
  Shape shape;
  std::size_t data_offset = 0;
  std::uint64_t data_bytes = 0;
};

[[noreturn]] void fail_unsupported(const std::string& descr, std::string_view source, std::string_view why) {
  fail(source, fmt::format("element type '{}'{} is not supported; keel reads float32, float64, bool and the "
                           "integer types int8 to int64 and uint8 to uint32",
                           descr, why));
}

ElementType parse_descr(const std::string& descr, std::string_view source) {
  auto unsupported = [&](std::string_view why) { fail_unsupported(descr, source, why); };
  std::string_view rest(descr);
  char order = '=';
  if (!rest.empty() && std::string_view("<>|=").find(rest.front()) != std::string_view::npos) {
    order = rest.front();
    rest.remove_prefix(1);
  }
  if (rest.size() < 2) unsupported("");
  const char kind = rest.front();
  std::size_t size = 0;
  auto [end, err] = std::from_chars(rest.data() + 1, rest.data() + rest.size(), size);
  if (err != std::errc() || end != rest.data() + rest.size()) unsupported("");
  if (order == '|' && size != 1) fail(source, fmt::format("element type '{}': '|' (no byte order) needs a 1-byte type", descr));
  const bool big_endian = order == '>';
  switch (kind) {
    case 'f':
      if (size == 2) unsupported(" (float16)");
      if (size != 4 && size != 8) unsupported("");
      return {ElementKind::floating, size, big_endian};
    case 'i':
      if (size != 1 && size != 2 && size != 4 && size != 8) unsupported("");
      return {ElementKind::signed_integer, size, big_endian};
    case 'u':
      if (size == 8) unsupported(" (uint64: values above 2^63 - 1 do not fit in int64)");
      if (size != 1 && size != 2 && size != 4) unsupported("");
      return {ElementKind::unsigned_integer, size, big_endian};
    case 'b':
      if (size != 1) unsupported("");
      return {ElementKind::boolean, size, big_endian};
    case 'c': fail_unsupported(descr, source, " (complex)");
    case 'U':
    case 'S': fail_unsupported(descr, source, " (string)");
    case 'O': fail_unsupported(descr, source, " (Python object)");
    default: fail_unsupported(descr, source, "");
  }
}

// The header's Python dict literal, as NumPy writes it: string keys, string / True / False / tuple-of-int
// values, optional trailing commas, spaces.
class HeaderParser {
 public:
  HeaderParser(std::string_view text, std::string_view source) : text_(text), source_(source) {}

  NpyHeader parse() {
    NpyHeader header;
    std::optional<std::string> descr;
    std::optional<bool> fortran_order;
    std::optional<Shape> shape;
    expect('{');
    while (!consume('}')) {
      const std::string key = parse_string();
      expect(':');
      if (key == "descr" && !descr) {
        descr = parse_string();
      } else if (key == "fortran_order" && !fortran_order) {
        fortran_order = parse_bool();
      } else if (key == "shape" && !shape) {
        shape = parse_int_tuple();
      } else {
        bad(fmt::format("key '{}' is {}", key,
                        key == "descr" || key == "fortran_order" || key == "shape" ? "repeated" : "unknown"));
      }
      if (!consume(',')) {
        expect('}');
        break;
      }
    }
    skip_space();
    if (pos_ != text_.size()) bad("text after the closing '}'");
    if (!descr || !fortran_order || !shape) bad("it needs the keys 'descr', 'fortran_order' and 'shape'");
    header.element = parse_descr(*descr, source_);
    header.fortran_order = *fortran_order;
    header.shape = std::move(*shape);
    return header;
  }

 private:
  [[noreturn]] void bad(const std::string& problem) {
    fail(source_, fmt::format("malformed header at byte {} of \"{}\": {}", pos_, text_, problem));
  }
  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\n' || text_[pos_] == '\t' || text_[pos_] == '\r'))
      ++pos_;
  }
  bool consume(char c) {
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  void expect(char c) {
    if (!consume(c)) bad(fmt::format("expected '{}'", c));
  }
  std::string parse_string() {
    skip_space();
    if (pos_ >= text_.size() || (text_[pos_] != '\'' && text_[pos_] != '"')) bad("expected a quoted string");
    const char quote = text_[pos_++];
    const std::size_t end = text_.find(quote, pos_);
    if (end == std::string_view::npos) bad("unterminated string");
    std::string value(text_.substr(pos_, end - pos_));
    if (value.find('\\') != std::string::npos) bad("escapes in strings are not supported");
    pos_ = end + 1;
    return value;
  }
  bool parse_bool() {
    skip_space();
    for (auto [word, value] : {std::pair{std::string_view("True"), true}, std::pair{std::string_view("False"), false}}) {
      if (text_.substr(pos_).starts_with(word)) {
        pos_ += word.size();
        return value;
      }
    }
    bad("expected True or False");
  }
  Shape parse_int_tuple() {
    expect('(');
    Shape dims;
    bool trailing_comma = false;
    while (!consume(')')) {
      skip_space();
      std::int64_t d = 0;
      auto [end, err] = std::from_chars(text_.data() + pos_, text_.data() + text_.size(), d);
      if (err == std::errc::result_out_of_range) bad("a dimension does not fit in int64");
      if (err != std::errc() || d < 0) bad("expected a non-negative integer dimension");
      pos_ = static_cast<std::size_t>(end - text_.data());
      dims.push_back(d);
      trailing_comma = consume(',');
      if (!trailing_comma) {
        expect(')');
        break;
      }
    }
    // Python reads "(3)" as the integer 3, not a tuple; NumPy refuses it too.
    if (dims.size() == 1 && !trailing_comma) bad("a one-dimensional shape is written '(n,)'");
    return dims;
  }

  std::string_view text_;
  std::string_view source_;
  std::size_t pos_ = 0;
};

std::uint32_t little_endian(const std::byte* p, std::size_t n) {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < n; ++i) v |= std::to_integer<std::uint32_t>(p[i]) << (8 * i);
  return v;
}

// Parses the magic, version and header from the start of a file; `prefix` may end anywhere after them.
// The data size is checked against nothing here: callers compare it with what they hold.
NpyHeader parse_npy_header(std::span<const std::byte> prefix, std::string_view source) {
  if (prefix.size() < kMagic.size() + 2 ||
      std::memcmp(prefix.data(), kMagic.data(), kMagic.size()) != 0) {
    fail(source, "not a .npy file (it does not start with \\x93NUMPY)");
  }
  const auto major = std::to_integer<int>(prefix[6]);
  const auto minor = std::to_integer<int>(prefix[7]);
  if (major < 1 || major > 3 || minor != 0)
    fail(source, fmt::format("format version {}.{} is not supported (1.0, 2.0 and 3.0 are)", major, minor));
  const std::size_t length_bytes = major == 1 ? 2 : 4;
  const std::size_t header_start = kMagic.size() + 2 + length_bytes;
  if (prefix.size() < header_start) fail(source, "truncated: the file ends inside the header length");
  const std::size_t header_length = little_endian(prefix.data() + 8, length_bytes);
  if (header_length > kMaxHeaderSize)
    fail(source, fmt::format("the header claims {} bytes, more than the {} keel accepts", header_length, kMaxHeaderSize));
  if (prefix.size() < header_start + header_length)
    fail(source, fmt::format("truncated: the header needs {} bytes, the file ends after {}", header_length,
                             prefix.size() - header_start));
  const std::string_view text(reinterpret_cast<const char*>(prefix.data() + header_start), header_length);
  if (std::any_of(text.begin(), text.end(), [](char c) { return c == '\0'; }))
    fail(source, "malformed header: it contains a NUL byte");
  NpyHeader header = HeaderParser(text, source).parse();
  header.data_offset = header_start + header_length;
  std::uint64_t count = 1;
  for (std::int64_t d : header.shape) {
    const auto u = static_cast<std::uint64_t>(d);
    if (u != 0 && count > (std::uint64_t{1} << 62) / u) fail(source, fmt::format("shape {} is too large", to_string(header.shape)));
    count *= u;
  }
  if (count > (std::uint64_t{1} << 62) / header.element.size)
    fail(source, fmt::format("shape {} is too large", to_string(header.shape)));
  header.data_bytes = count * header.element.size;
  return header;
}

void check_data_size(const NpyHeader& header, std::uint64_t available, std::string_view source) {
  if (available < header.data_bytes) {
    fail(source, fmt::format("truncated: shape {} of {}-byte elements needs {} bytes of data, the file holds {}",
                             to_string(header.shape), header.element.size, header.data_bytes, available));
  }
  if (available > header.data_bytes) {
    fail(source, fmt::format("{} trailing bytes after the {} data bytes of shape {}", available - header.data_bytes,
                             header.data_bytes, to_string(header.shape)));
  }
}

template <class Source, class Target>
void convert_elements(const std::byte* src, Target* dst, std::int64_t n, bool swap) {
  if constexpr (std::is_same_v<Source, Target>) {
    if (!swap) {
      std::memcpy(dst, src, static_cast<std::size_t>(n) * sizeof(Source));
      return;
    }
  }
  for (std::int64_t i = 0; i < n; ++i) {
    std::array<std::byte, sizeof(Source)> raw;
    std::memcpy(raw.data(), src + i * static_cast<std::int64_t>(sizeof(Source)), sizeof(Source));
    if (swap) std::reverse(raw.begin(), raw.end());
    Source value;
    std::memcpy(&value, raw.data(), sizeof(Source));
    dst[i] = static_cast<Target>(value);
  }
}

void convert_integers(const ElementType& e, const std::byte* src, std::int64_t* dst, std::int64_t n) {
  const bool is_signed = e.kind == ElementKind::signed_integer;
  switch (e.size) {
    case 1: return is_signed ? convert_elements<std::int8_t>(src, dst, n, false) : convert_elements<std::uint8_t>(src, dst, n, false);
    case 2: return is_signed ? convert_elements<std::int16_t>(src, dst, n, e.big_endian) : convert_elements<std::uint16_t>(src, dst, n, e.big_endian);
    case 4: return is_signed ? convert_elements<std::int32_t>(src, dst, n, e.big_endian) : convert_elements<std::uint32_t>(src, dst, n, e.big_endian);
    default: return convert_elements<std::int64_t>(src, dst, n, e.big_endian);
  }
}

DType keel_dtype_of(const ElementType& e) {
  if (e.kind == ElementKind::floating) return e.size == 4 ? DType::float32 : DType::float64;
  return e.kind == ElementKind::boolean ? DType::boolean : DType::int64;
}

// True when the file's data bytes are the tensor's bytes (bools once normalized to 0/1).
bool stored_as_keel(const ElementType& e) {
  return !e.big_endian && (e.kind == ElementKind::floating || e.kind == ElementKind::boolean ||
                           (e.kind == ElementKind::signed_integer && e.size == 8));
}

// The tensor the data fills in file order: a Fortran-order array of shape (a, b, c) has the memory of a
// C-order array of shape (c, b, a).
Tensor empty_in_file_order(const NpyHeader& header) {
  Shape shape = header.shape;
  if (header.fortran_order) std::reverse(shape.begin(), shape.end());
  return Tensor::empty(shape, keel_dtype_of(header.element));
}

void fill_converted(const NpyHeader& header, const std::byte* data, Tensor& out) {
  const ElementType& e = header.element;
  const std::int64_t n = out.numel();
  switch (out.dtype()) {
    case DType::float32: return convert_elements<float>(data, out.data<float>(), n, e.big_endian);
    case DType::float64: return convert_elements<double>(data, out.data<double>(), n, e.big_endian);
    case DType::boolean: std::memcpy(out.raw_data(), data, static_cast<std::size_t>(n)); return;
    case DType::int64: return convert_integers(e, data, out.data<std::int64_t>(), n);
  }
}

// NumPy reads any nonzero byte as true; keel's bools must be exactly 0 or 1.
void normalize_bools(Tensor& t) {
  if (t.dtype() != DType::boolean) return;
  auto* bytes = static_cast<std::uint8_t*>(t.raw_data());
  for (std::int64_t i = 0; i < t.numel(); ++i) bytes[i] = bytes[i] != 0 ? 1 : 0;
}

Tensor in_logical_order(Tensor memory, const NpyHeader& header) {
  normalize_bools(memory);
  if (!header.fortran_order || memory.dim() <= 1) return memory;
  std::vector<std::int64_t> reversed_axes(static_cast<std::size_t>(memory.dim()));
  for (std::size_t i = 0; i < reversed_axes.size(); ++i) reversed_axes[i] = memory.dim() - 1 - static_cast<std::int64_t>(i);
  return memory.permute(reversed_axes).contiguous();
}

Tensor tensor_from_data(const NpyHeader& header, const std::byte* data) {
  Tensor memory = empty_in_file_order(header);
  fill_converted(header, data, memory);
  return in_logical_order(memory, header);
}

const char* npy_descr(DType dtype) {
  switch (dtype) {
    case DType::float32: return "<f4";
    case DType::float64: return "<f8";
    case DType::int64: return "<i8";
    case DType::boolean: return "|b1";
  }
  return "";
}

std::string shape_tuple(const Shape& shape) {
  if (shape.size() == 1) return fmt::format("({},)", shape[0]);
  return fmt::format("({})", fmt::join(shape, ", "));
}

void append_little_endian(std::string& out, std::uint64_t value, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
}

}  // namespace

Tensor decode_npy(std::span<const std::byte> bytes, std::string_view source) {
  const NpyHeader header = parse_npy_header(bytes, source);
  check_data_size(header, bytes.size() - header.data_offset, source);
  return tensor_from_data(header, bytes.data() + header.data_offset);
}

Tensor load_npy(const fs::path& path) {
  const std::string source = fmt::format("load_npy: '{}'", path.string());
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) fail(source, fs::exists(path, ec) ? "not a regular file" : "no such file");
  const std::uint64_t file_size = fs::file_size(path, ec);
  if (ec) fail(source, fmt::format("cannot stat: {}", ec.message()));
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(source, fmt::format("cannot open: {}", std::strerror(errno)));

  std::vector<std::byte> bytes(static_cast<std::size_t>(std::min<std::uint64_t>(file_size, kMaxPrefixSize + kMaxHeaderSize)));
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (in.gcount() != static_cast<std::streamsize>(bytes.size())) fail(source, "read error (the file shrank?)");
  const NpyHeader header = parse_npy_header(bytes, source);
  check_data_size(header, file_size - header.data_offset, source);

  // The header's claim now matches the file's size, so this allocates no more than the file holds. Data
  // stored as keel stores it is read straight into the tensor.
  Tensor memory = empty_in_file_order(header);
  const auto data_bytes = static_cast<std::streamsize>(header.data_bytes);
  in.seekg(static_cast<std::streamoff>(header.data_offset));
  if (stored_as_keel(header.element)) {
    in.read(static_cast<char*>(memory.raw_data()), data_bytes);
    if (in.gcount() != data_bytes) fail(source, "read error (the file shrank?)");
  } else {
    bytes.resize(static_cast<std::size_t>(header.data_bytes));
    in.read(reinterpret_cast<char*>(bytes.data()), data_bytes);
    if (in.gcount() != data_bytes) fail(source, "read error (the file shrank?)");
    fill_converted(header, bytes.data(), memory);
  }
  return in_logical_order(memory, header);
}

std::string encode_npy(const Tensor& array) {
  if (!array.defined()) throw ValueError("encode_npy: the tensor is undefined (default-constructed)");
  std::string dict = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}", npy_descr(array.dtype()),
                                 shape_tuple(array.shape()));
  // NumPy pads the header with spaces and a final newline so the data starts 64-byte aligned.
  std::size_t prefix = kMagic.size() + 2 + 2;
  if (dict.size() + 1 + kHeaderAlignment > 0xFFFF) prefix += 2;
  const std::size_t padded = dict.size() + 1 + (kHeaderAlignment - (prefix + dict.size() + 1) % kHeaderAlignment) % kHeaderAlignment;
  dict.append(padded - dict.size() - 1, ' ');
  dict.push_back('\n');

  const Tensor data = array.contiguous();
  const std::size_t data_bytes = static_cast<std::size_t>(data.numel()) * dtype_size(data.dtype());
  std::string out;
  out.reserve(prefix + dict.size() + data_bytes);
  out.append(kMagic);
  out.push_back(static_cast<char>(prefix == 10 ? 1 : 2));
  out.push_back(0);
  append_little_endian(out, dict.size(), prefix - 8);
  out.append(dict);
  out.append(static_cast<const char*>(data.raw_data()), data_bytes);
  return out;
}

void save_npy(const fs::path& path, const Tensor& array) {
  if (!array.defined()) throw ValueError(fmt::format("save_npy: '{}': the tensor is undefined (default-constructed)", path.string()));
  detail::write_file_atomically(path, encode_npy(array), "save_npy");
}

}  // namespace keel::data
