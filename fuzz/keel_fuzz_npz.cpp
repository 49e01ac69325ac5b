// libFuzzer target for decode_npz, the reader behind load_npz: the zip directory, stored and deflated
// (zlib) entries, and decode_npy on each. Allowed outcomes: success or keel::IOError. Every array that
// decodes must survive an .npy round trip.
#include <cstddef>
#include <cstdint>
#include <span>

#include "keel/core/error.h"
#include "keel/data/npz.h"
#include "npy_round_trip.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const keel::data::NamedTensors arrays =
        keel::data::decode_npz(std::span(reinterpret_cast<const std::byte*>(data), size), "fuzz archive");
    for (const auto& [name, tensor] : arrays) keel::fuzz::check_npy_round_trip(tensor);
  } catch (const keel::IOError&) {
  }
  return 0;
}
