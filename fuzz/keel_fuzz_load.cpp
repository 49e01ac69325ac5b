// libFuzzer target for keel's file loader: decode_keel_file, then load_model on the same
// bytes (the config, compile section and optimizer state of a file that decodes). Allowed outcomes: success
// or keel::IOError; any other exception, a sanitizer report or a broken invariant crashes the fuzzer.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <span>
#include <vector>

#include "keel/core/error.h"
#include "keel/models/detail/keel_file.h"
#include "keel/models/model.h"
#include "keel/models/saving.h"

namespace {

std::vector<keel::io::TensorView> views_of(const std::vector<keel::io::TensorBytes>& tensors) {
  std::vector<keel::io::TensorView> views;
  for (const auto& t : tensors) views.push_back({t.name, t.dtype, t.shape, t.bytes.data(), t.bytes.size()});
  return views;
}

// A file that decodes must re-encode to a file that decodes to the same contents.
void check_round_trip(const keel::io::KeelFileContents& decoded) {
  std::string again = keel::io::encode_keel_file(views_of(decoded.tensors), decoded.config, decoded.metadata);
  auto bytes = std::as_bytes(std::span(again.data(), again.size()));
  if (!(keel::io::decode_keel_file(bytes, "round trip", true) == decoded)) std::abort();
}

// A mutated file almost never keeps its CRC-32s right, so most mutants of a config would stop at the
// checksum. Re-encoding the decoded safetensors contents as a keel file seals them again, so mutated
// configs, compile sections and optimizer states reach load_model.
std::optional<std::string> resealed(std::span<const std::byte> file) {
  try {
    auto contents = keel::io::decode_safetensors(file, "fuzz input");
    std::string config = contents.metadata["config"];
    for (const char* key : {"format", "format_version", "config", "crc32"}) contents.metadata.erase(key);
    return keel::io::encode_keel_file(views_of(contents.tensors), config, contents.metadata);
  } catch (const keel::Error&) {
    return std::nullopt;
  }
}

void load_model_or_io_error(std::span<const std::byte> file) {
  try {
    keel::load_model_from_bytes(file, "fuzz input");
  } catch (const keel::IOError&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto file = std::span(reinterpret_cast<const std::byte*>(data), size);
  for (bool require_keel_format : {true, false}) {
    try {
      auto contents = keel::io::decode_keel_file(file, "fuzz input", require_keel_format);
      if (contents.keel_format) check_round_trip(contents);
    } catch (const keel::IOError&) {
    }
  }
  load_model_or_io_error(file);
  if (auto sealed = resealed(file)) load_model_or_io_error(std::as_bytes(std::span(sealed->data(), sealed->size())));
  return 0;
}
