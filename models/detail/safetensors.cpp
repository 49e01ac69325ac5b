#include "keel/models/detail/safetensors.h"

#include <fmt/format.h>

#include <algorithm>
#include <tuple>
#include <limits>
#include <optional>
#include <set>

#include <nlohmann/json.hpp>

#include "keel/core/error.h"
#include "keel/models/detail/file_signature.h"
#include "keel/models/detail/strict_json.h"

namespace keel::io {
namespace {

constexpr std::string_view kMetadataKey = "__metadata__";
constexpr std::size_t kLengthFieldBytes = 8;
// Root object -> tensor entry -> shape array -> dimension.
constexpr int kMaxHeaderDepth = 3;

std::optional<DType> dtype_from_code(std::string_view code) {
  if (code == "F32") return DType::float32;
  if (code == "F64") return DType::float64;
  if (code == "I64") return DType::int64;
  if (code == "BOOL") return DType::boolean;
  return std::nullopt;
}

std::uint64_t read_u64_le(const std::byte* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | std::to_integer<std::uint64_t>(p[i]);
  return v;
}

void append_u64_le(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::string trailing_bytes_problem(std::uint64_t tensors_end, std::uint64_t data_bytes) {
  return fmt::format("{} trailing bytes after the last tensor (the tensors end at {}, the data holds {} bytes)",
                     data_bytes - tensors_end, tensors_end, data_bytes);
}

// A tensor's header entry, validated on its own; tiling is checked across all entries afterwards.
struct Entry {
  std::string name;
  DType dtype;
  Shape shape;
  std::uint64_t begin;
  std::uint64_t end;
};

class HeaderReader {
 public:
  explicit HeaderReader(const std::string& source) : source_(source) {}

  [[noreturn]] void fail(const std::string& problem) const {
    throw IOError(fmt::format("{}: invalid safetensors file: {}", source_, problem));
  }

  Entry read_entry(const std::string& name, const nlohmann::json& info) const {
    if (name.empty()) fail("a tensor has an empty name");
    if (!info.is_object()) fail(fmt::format("tensor '{}': header entry is not a JSON object", name));
    for (const auto& [key, value] : info.items()) {
      if (key != "dtype" && key != "shape" && key != "data_offsets")
        fail(fmt::format("tensor '{}': unknown header field '{}'", name, key));
    }
    for (const char* key : {"dtype", "shape", "data_offsets"}) {
      if (!info.contains(key)) fail(fmt::format("tensor '{}': header entry lacks \"{}\"", name, key));
    }
    Entry e{name, DType::float32, {}, 0, 0};
    const auto& dtype = info["dtype"];
    if (!dtype.is_string()) fail(fmt::format("tensor '{}': dtype is not a string", name));
    auto parsed = dtype_from_code(dtype.get<std::string>());
    if (!parsed)
      fail(fmt::format("tensor '{}': unsupported dtype '{}' (keel reads F32, F64, I64, BOOL)", name,
                       dtype.get<std::string>()));
    e.dtype = *parsed;

    const auto& shape = info["shape"];
    if (!shape.is_array()) fail(fmt::format("tensor '{}': shape is not an array", name));
    for (const auto& d : shape) {
      if (!d.is_number_unsigned() || d.get<std::uint64_t>() > std::uint64_t(std::numeric_limits<std::int64_t>::max()))
        fail(fmt::format("tensor '{}': shape {} has a dimension that is not an integer in [0, 2^63)", name,
                         shape.dump()));
      e.shape.push_back(static_cast<std::int64_t>(d.get<std::uint64_t>()));
    }

    const auto& offsets = info["data_offsets"];
    if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
        !offsets[1].is_number_unsigned())
      fail(fmt::format("tensor '{}': data_offsets {} is not a pair of non-negative integers", name, offsets.dump()));
    e.begin = offsets[0].get<std::uint64_t>();
    e.end = offsets[1].get<std::uint64_t>();
    if (e.end < e.begin)
      fail(fmt::format("tensor '{}': data_offsets [{}, {}] end before they begin", name, e.begin, e.end));

    std::uint64_t numel = 0;
    try {
      numel = static_cast<std::uint64_t>(checked_numel(e.shape, "safetensors"));
    } catch (const ShapeError&) {
      fail(fmt::format("tensor '{}': shape {} has more elements than int64 can count", name, to_string(e.shape)));
    }
    std::uint64_t declared = 0;
    if (__builtin_mul_overflow(numel, std::uint64_t(dtype_size(e.dtype)), &declared))
      fail(fmt::format("tensor '{}': {} shape {} needs more than 2^64 bytes", name, dtype_name(e.dtype),
                       to_string(e.shape)));
    if (declared != e.end - e.begin)
      fail(fmt::format("tensor '{}': {} shape {} needs {} bytes but data_offsets [{}, {}] hold {}", name,
                       dtype_name(e.dtype), to_string(e.shape), declared, e.begin, e.end, e.end - e.begin));
    return e;
  }

  std::map<std::string, std::string> read_metadata(const nlohmann::json& metadata) const {
    if (!metadata.is_object()) fail("__metadata__ is not a JSON object");
    std::map<std::string, std::string> out;
    for (const auto& [key, value] : metadata.items()) {
      if (!value.is_string()) fail(fmt::format("__metadata__ value of '{}' is not a string", key));
      out.emplace(key, value.get<std::string>());
    }
    return out;
  }

  // Sorted by offsets, the tensors must cover [0, data_bytes) exactly once.
  void check_tiling(std::vector<Entry>& entries, std::uint64_t data_bytes) const {
    std::sort(entries.begin(), entries.end(),
              [](const Entry& a, const Entry& b) { return std::tie(a.begin, a.end) < std::tie(b.begin, b.end); });
    std::uint64_t expected = 0;
    const Entry* previous = nullptr;
    for (const Entry& e : entries) {
      if (e.begin < expected)
        fail(fmt::format("tensor '{}': data_offsets [{}, {}] overlap tensor '{}' which ends at {}", e.name, e.begin,
                         e.end, previous->name, expected));
      if (e.begin > expected)
        fail(fmt::format("tensor '{}': data_offsets [{}, {}] leave a gap of {} bytes after offset {}", e.name,
                         e.begin, e.end, e.begin - expected, expected));
      if (e.end > data_bytes)
        fail(fmt::format("truncated: tensor '{}' has data_offsets [{}, {}] but the data holds only {} bytes",
                         e.name, e.begin, e.end, data_bytes));
      expected = e.end;
      previous = &e;
    }
    if (expected != data_bytes) fail(trailing_bytes_problem(expected, data_bytes));
  }

 private:
  const std::string& source_;
};

}  // namespace

const char* safetensors_dtype_code(DType dtype) {
  switch (dtype) {
    case DType::float32: return "F32";
    case DType::float64: return "F64";
    case DType::int64: return "I64";
    case DType::boolean: return "BOOL";
  }
  throw ValueError(fmt::format("safetensors: unknown dtype code {}", static_cast<int>(dtype)));
}

std::string encode_safetensors(const std::vector<TensorView>& tensors,
                               const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header[std::string(kMetadataKey)] = metadata;
  std::set<std::string_view> names;
  std::uint64_t offset = 0;
  for (const TensorView& t : tensors) {
    if (t.name.empty() || t.name == kMetadataKey)
      throw ValueError(fmt::format("encode_safetensors: tensor name '{}' is empty or reserved", t.name));
    if (!names.insert(t.name).second)
      throw ValueError(fmt::format("encode_safetensors: duplicate tensor name '{}'", t.name));
    std::uint64_t numel = static_cast<std::uint64_t>(checked_numel(t.shape, "encode_safetensors"));
    std::uint64_t needed = 0;
    if (__builtin_mul_overflow(numel, std::uint64_t(dtype_size(t.dtype)), &needed) || needed != t.nbytes)
      throw ValueError(fmt::format("encode_safetensors: tensor '{}': {} shape {} needs {} × {} bytes, got {}",
                                   t.name, dtype_name(t.dtype), to_string(t.shape), numel, dtype_size(t.dtype),
                                   t.nbytes));
    if (t.data == nullptr && t.nbytes > 0)
      throw ValueError(fmt::format("encode_safetensors: tensor '{}' has no data", t.name));
    header[t.name] = {{"dtype", safetensors_dtype_code(t.dtype)},
                      {"shape", t.shape},
                      {"data_offsets", {offset, offset + t.nbytes}}};
    offset += t.nbytes;
  }
  std::string json;
  try {
    json = header.dump();
  } catch (const nlohmann::json::exception& e) {
    throw ValueError(fmt::format("encode_safetensors: a tensor name or metadata string is not UTF-8 ({})", e.what()));
  }
  json.append((kLengthFieldBytes - json.size() % kLengthFieldBytes) % kLengthFieldBytes, ' ');

  std::string out;
  out.reserve(kLengthFieldBytes + json.size() + offset);
  append_u64_le(out, json.size());
  out += json;
  for (const TensorView& t : tensors) out.append(static_cast<const char*>(t.data), t.nbytes);
  return out;
}

SafetensorsContents decode_safetensors(std::span<const std::byte> file, const std::string& source) {
  HeaderReader reader(source);
  if (file.size() < kLengthFieldBytes)
    reader.fail(fmt::format("truncated: {} bytes, shorter than the 8-byte header length", file.size()));
  const std::uint64_t header_bytes = read_u64_le(file.data());
  const std::uint64_t after_length = file.size() - kLengthFieldBytes;
  // Only a file whose length field is implausible is named by its magic bytes: a valid header length
  // can begin like a pickle (0x80 0x02 is 640).
  if (header_bytes > std::min(after_length, kMaxSafetensorsHeaderBytes)) {
    if (std::string foreign = describe_foreign_file(file); !foreign.empty())
      throw IOError(fmt::format("{}: not a safetensors file: it starts like {}; keel reads .keel and safetensors "
                                "files",
                                source, foreign));
  }
  if (header_bytes > kMaxSafetensorsHeaderBytes)
    reader.fail(fmt::format("header length {} exceeds the limit of {} bytes", header_bytes,
                            kMaxSafetensorsHeaderBytes));
  if (header_bytes > after_length)
    reader.fail(fmt::format("truncated: header length {} but only {} bytes follow", header_bytes, after_length));

  std::string_view text(reinterpret_cast<const char*>(file.data()) + kLengthFieldBytes, header_bytes);
  StrictJson parsed = parse_json_strictly(text, kMaxHeaderDepth);
  if (!parsed.problem.empty()) reader.fail("header: " + parsed.problem);
  if (!parsed.value.is_object()) reader.fail("header is not a JSON object");

  SafetensorsContents contents;
  std::vector<Entry> entries;
  for (const auto& [key, value] : parsed.value.items()) {
    if (key == kMetadataKey)
      contents.metadata = reader.read_metadata(value);
    else
      entries.push_back(reader.read_entry(key, value));
  }
  const std::uint64_t data_bytes = after_length - header_bytes;
  reader.check_tiling(entries, data_bytes);

  const std::byte* data = file.data() + kLengthFieldBytes + header_bytes;
  for (const Entry& e : entries) {
    if (e.dtype != DType::boolean) continue;
    for (std::uint64_t i = e.begin; i < e.end; ++i) {
      if (std::to_integer<unsigned>(data[i]) > 1)
        reader.fail(fmt::format("tensor '{}': BOOL element {} is byte {}, not 0 or 1", e.name, i - e.begin,
                                std::to_integer<unsigned>(data[i])));
    }
  }
  contents.tensors.reserve(entries.size());
  for (Entry& e : entries) {
    contents.tensors.push_back(
        {std::move(e.name), e.dtype, std::move(e.shape), std::vector<std::byte>(data + e.begin, data + e.end)});
  }
  return contents;
}

std::uint64_t safetensors_bytes_needed(std::span<const std::byte> head) {
  if (head.size() < kLengthFieldBytes) return kLengthFieldBytes;
  const std::uint64_t header_bytes = read_u64_le(head.data());
  if (header_bytes > kMaxSafetensorsHeaderBytes) return head.size();
  const std::uint64_t data_start = kLengthFieldBytes + header_bytes;
  if (head.size() < data_start) return data_start;
  std::string_view text(reinterpret_cast<const char*>(head.data()) + kLengthFieldBytes, header_bytes);
  StrictJson parsed = parse_json_strictly(text, kMaxHeaderDepth);
  if (!parsed.problem.empty() || !parsed.value.is_object()) return head.size();
  std::uint64_t tensors_end = 0;
  for (const auto& [key, value] : parsed.value.items()) {
    if (key == kMetadataKey) continue;
    const auto* offsets = value.is_object() && value.contains("data_offsets") ? &value["data_offsets"] : nullptr;
    if (!offsets || !offsets->is_array() || offsets->size() != 2 || !(*offsets)[1].is_number_unsigned())
      return head.size();
    tensors_end = std::max(tensors_end, (*offsets)[1].get<std::uint64_t>());
  }
  if (tensors_end > std::numeric_limits<std::uint64_t>::max() - data_start) return head.size();
  return data_start + tensors_end;
}

void require_whole_file(std::span<const std::byte> read, std::uint64_t file_size, const std::string& source) {
  if (read.size() >= file_size) return;
  decode_safetensors(read, source);  // an unusable length field or header is reported as such
  const std::uint64_t data_start = kLengthFieldBytes + read_u64_le(read.data());
  HeaderReader(source).fail(trailing_bytes_problem(read.size() - data_start, file_size - data_start));
}

}  // namespace keel::io
