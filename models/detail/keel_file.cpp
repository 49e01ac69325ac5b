#include "keel/models/detail/keel_file.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <charconv>

#include <nlohmann/json.hpp>

#include "keel/core/error.h"
#include "keel/models/detail/crc32.h"
#include "keel/models/detail/strict_json.h"

namespace keel::io {
namespace {

constexpr std::string_view kFormatKey = "format";
constexpr std::string_view kVersionKey = "format_version";
constexpr std::string_view kConfigKey = "config";
constexpr std::string_view kChecksumsKey = "crc32";
constexpr std::string_view kExtraChecksumPrefix = "__metadata__/";
constexpr int kMaxConfigDepth = 128;

bool is_reserved_metadata_key(std::string_view key) {
  return key == kFormatKey || key == kVersionKey || key == kConfigKey || key == kChecksumsKey;
}

std::span<const std::byte> bytes_of(std::string_view s) { return std::as_bytes(std::span(s.data(), s.size())); }

std::uint32_t tensor_checksum(DType dtype, const Shape& shape, std::span<const std::byte> data) {
  std::string description = fmt::format("{}[{}]", safetensors_dtype_code(dtype), fmt::join(shape, ","));
  return crc32(data, crc32(bytes_of(description)));
}

using Checksums = std::map<std::string, std::uint32_t>;

void add_metadata_checksums(Checksums& sums, std::string_view config,
                            const std::map<std::string, std::string>& extra) {
  sums[std::string(kConfigChecksumKey)] = crc32(bytes_of(config));
  for (const auto& [key, value] : extra) sums[std::string(kExtraChecksumPrefix) + key] = crc32(bytes_of(value));
}

class KeelMetadataReader {
 public:
  explicit KeelMetadataReader(const std::string& source) : source_(source) {}

  [[noreturn]] void fail(const std::string& problem) const {
    throw IOError(fmt::format("{}: invalid keel file: {}", source_, problem));
  }

  void check_version(const std::map<std::string, std::string>& metadata) const {
    auto it = metadata.find(std::string(kVersionKey));
    if (it == metadata.end()) fail("__metadata__ lacks format_version");
    const std::string& text = it->second;
    // Digits only, no leading zero: from_chars alone would take "-1".
    bool digits = !text.empty() && text[0] != '0' &&
                  std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!digits) fail(fmt::format("format_version '{}' is not a positive integer", text));
    int version = 0;
    const std::errc ec = std::from_chars(text.data(), text.data() + text.size(), version).ec;
    if (ec == std::errc::result_out_of_range || version > kKeelFormatVersion)
      fail(fmt::format("format_version {} is newer than this keel supports (format_version {}); upgrade keel", text,
                       kKeelFormatVersion));
  }

  Checksums read_checksums(const std::string& text) const {
    StrictJson parsed = parse_json_strictly(text, 1);
    if (!parsed.problem.empty()) fail("crc32 metadata: " + parsed.problem);
    if (!parsed.value.is_object()) fail("crc32 metadata is not a JSON object");
    Checksums sums;
    for (const auto& [key, value] : parsed.value.items()) {
      if (!value.is_number_unsigned() || value.get<std::uint64_t>() > 0xffffffffu)
        fail(fmt::format("crc32 metadata: the checksum of '{}' is {}, not a 32-bit unsigned integer", key,
                         value.dump()));
      sums[key] = static_cast<std::uint32_t>(value.get<std::uint64_t>());
    }
    return sums;
  }

  void compare_checksums(const Checksums& stored,
                         const Checksums& computed) const {
    for (const auto& [key, sum] : computed) {
      auto it = stored.find(key);
      if (it == stored.end()) fail(fmt::format("crc32 metadata has no checksum for '{}'", key));
      if (it->second != sum)
        fail(fmt::format("CRC-32 mismatch for '{}': stored {:#010x}, computed {:#010x} (the file is corrupted)", key,
                         it->second, sum));
    }
    for (const auto& [key, sum] : stored) {
      if (!computed.count(key)) fail(fmt::format("crc32 metadata lists '{}', which the file does not hold", key));
    }
  }

 private:
  const std::string& source_;
};

}  // namespace

std::string encode_keel_file(const std::vector<TensorView>& tensors, std::string_view config_json,
                             const std::map<std::string, std::string>& extra_metadata) {
  Checksums checksums;
  for (const TensorView& t : tensors) {
    if (t.name.starts_with("__"))
      throw ValueError(fmt::format("encode_keel_file: tensor name '{}' starts with \"__\", which keel reserves", t.name));
    if (t.data == nullptr && t.nbytes > 0)
      throw ValueError(fmt::format("encode_keel_file: tensor '{}' has no data", t.name));
    checksums[t.name] = tensor_checksum(t.dtype, t.shape, std::span(static_cast<const std::byte*>(t.data), t.nbytes));
  }
  for (const auto& [key, value] : extra_metadata) {
    if (is_reserved_metadata_key(key))
      throw ValueError(fmt::format("encode_keel_file: extra metadata key '{}' is reserved by keel", key));
  }
  if (!config_json.empty()) {
    StrictJson parsed = parse_json_strictly(config_json, kMaxConfigDepth);
    if (!parsed.problem.empty()) throw ValueError("encode_keel_file: config is not valid JSON: " + parsed.problem);
  }
  add_metadata_checksums(checksums, config_json, extra_metadata);

  std::map<std::string, std::string> metadata = extra_metadata;
  metadata[std::string(kFormatKey)] = kKeelFormat;
  metadata[std::string(kVersionKey)] = std::to_string(kKeelFormatVersion);
  metadata[std::string(kConfigKey)] = config_json;
  try {
    metadata[std::string(kChecksumsKey)] = nlohmann::json(checksums).dump();
  } catch (const nlohmann::json::exception& e) {
    throw ValueError(fmt::format("encode_keel_file: a tensor name or metadata key is not UTF-8 ({})", e.what()));
  }
  return encode_safetensors(tensors, metadata);
}

KeelFileContents decode_keel_file(std::span<const std::byte> file, const std::string& source,
                                  bool require_keel_format) {
  SafetensorsContents st = decode_safetensors(file, source);
  KeelMetadataReader reader(source);
  KeelFileContents out;
  auto format = st.metadata.find(std::string(kFormatKey));
  bool is_keel = format != st.metadata.end() && format->second == kKeelFormat;
  if (!is_keel) {
    std::string described = format == st.metadata.end() ? "missing" : fmt::format("'{}'", format->second);
    if (st.metadata.count(std::string(kChecksumsKey)))
      reader.fail(fmt::format("format is {} (expected '{}') but the file carries keel's crc32 entry: a damaged "
                              "keel file",
                              described, kKeelFormat));
    if (require_keel_format)
      reader.fail(fmt::format("format is {}, not '{}': not a keel model file (it can be loaded as weights only)",
                              described, kKeelFormat));
    out.keel_format = false;
    out.metadata = std::move(st.metadata);
    out.tensors = std::move(st.tensors);
    return out;
  }

  reader.check_version(st.metadata);
  auto config = st.metadata.find(std::string(kConfigKey));
  if (config == st.metadata.end()) reader.fail("__metadata__ lacks config");
  auto checksums = st.metadata.find(std::string(kChecksumsKey));
  if (checksums == st.metadata.end()) reader.fail("__metadata__ lacks crc32");
  Checksums stored = reader.read_checksums(checksums->second);

  for (const auto& [key, value] : st.metadata) {
    if (!is_reserved_metadata_key(key)) out.metadata.emplace(key, value);
  }
  for (const TensorBytes& t : st.tensors) {
    if (t.name.starts_with("__")) reader.fail(fmt::format("tensor name '{}' starts with \"__\", which keel reserves", t.name));
  }
  Checksums computed;
  for (const TensorBytes& t : st.tensors) computed[t.name] = tensor_checksum(t.dtype, t.shape, t.bytes);
  add_metadata_checksums(computed, config->second, out.metadata);
  reader.compare_checksums(stored, computed);
  if (!config->second.empty()) {
    StrictJson parsed = parse_json_strictly(config->second, kMaxConfigDepth);
    if (!parsed.problem.empty()) reader.fail("config: " + parsed.problem);
  }
  out.config = config->second;
  out.tensors = std::move(st.tensors);
  return out;
}

}  // namespace keel::io
