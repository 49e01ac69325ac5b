#pragma once
// keel's rules on top of safetensors (docs/semantics.md §8 "Files"). A keel file's "__metadata__" holds, as strings:
//   format          "keel"
//   format_version  "1"
//   config          the model's JSON config, or "" for a weights-only file
//   crc32           a JSON object of CRC-32s (zlib's): one per tensor name, "__config__" for the config string
//                   and "__metadata__/<key>" for each extra metadata entry
// plus the caller's extra metadata entries. A tensor's CRC-32 covers its safetensors dtype code and shape
// as text, then its bytes: crc32("F32[2,3]" + data), so a corrupted dtype code ("I64" -> "F64") or a
// dimension of an empty tensor is caught as well as a corrupted value.
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "keel/models/detail/safetensors.h"

namespace keel::io {

inline constexpr std::string_view kKeelFormat = "keel";
inline constexpr int kKeelFormatVersion = 1;
// Key of the config string's checksum in the crc32 object.
inline constexpr std::string_view kConfigChecksumKey = "__config__";

struct KeelFileContents {
  bool keel_format = true;  // false: a foreign safetensors file read as weights only (config is then "")
  std::string config;
  std::map<std::string, std::string> metadata;  // extra entries (keel file) or all of it (foreign file)
  std::vector<TensorBytes> tensors;             // in storage order

  bool operator==(const KeelFileContents&) const = default;
};

// ValueError when a tensor name starts with "__", an extra metadata key is one of keel's own (format,
// format_version, config, crc32), or a non-empty config is not valid JSON; otherwise as encode_safetensors.
std::string encode_keel_file(const std::vector<TensorView>& tensors, std::string_view config_json,
                             const std::map<std::string, std::string>& extra_metadata = {});

// decode_safetensors, then keel's checks, all before returning: format "keel", a supported format_version
// (a newer one is refused naming both versions), a config that is empty or valid JSON, and a matching CRC-32
// for every tensor, the config and every extra entry (and none for anything absent). A file whose format is
// not "keel" is returned as weights only (keel_format = false) when require_keel_format is false, and refused
// otherwise; a file that carries keel's crc32 entry without format "keel" is a damaged keel file and is
// always refused. Every problem is an IOError whose message starts with `source`.
KeelFileContents decode_keel_file(std::span<const std::byte> file, const std::string& source,
                                  bool require_keel_format);

}  // namespace keel::io
