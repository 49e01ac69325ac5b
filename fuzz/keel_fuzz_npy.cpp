// libFuzzer target for decode_npy. Allowed outcomes: success or keel::IOError. An array that decodes must
// re-encode to bytes that decode to the same array. (The .npz archive reader has its own target,
// keel_fuzz_npz.)
#include <cstddef>
#include <cstdint>
#include <span>

#include "keel/core/error.h"
#include "keel/data/npy.h"
#include "npy_round_trip.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    keel::fuzz::check_npy_round_trip(
        keel::data::decode_npy(std::span(reinterpret_cast<const std::byte*>(data), size), "fuzz input"));
  } catch (const keel::IOError&) {
  }
  return 0;
}
