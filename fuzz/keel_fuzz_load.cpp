// libFuzzer target for keel's file loader (RELIABILITY 39). Allowed outcomes: a successful decode or
// keel::IOError; any other exception, a sanitizer report or a broken invariant crashes the fuzzer.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "keel/core/error.h"
#include "keel/models/keel_file.h"

namespace {

// A file that decodes must re-encode to a file that decodes to the same contents.
void check_round_trip(const keel::io::KeelFileContents& decoded) {
  std::vector<keel::io::TensorView> views;
  for (const auto& t : decoded.tensors) views.push_back({t.name, t.dtype, t.shape, t.bytes.data(), t.bytes.size()});
  std::string again = keel::io::encode_keel_file(views, decoded.config, decoded.metadata);
  auto bytes = std::as_bytes(std::span(again.data(), again.size()));
  if (!(keel::io::decode_keel_file(bytes, "round trip", true) == decoded)) std::abort();
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
  return 0;
}
