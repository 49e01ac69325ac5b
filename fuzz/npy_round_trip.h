#pragma once
// The check the NumPy fuzzers share: an array that decodes must re-encode to bytes that decode to the
// same array (std::abort otherwise, which libFuzzer reports as a crash).
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string>

#include "keel/data/npy.h"

namespace keel::fuzz {

inline void check_npy_round_trip(const Tensor& decoded) {
  const std::string again = data::encode_npy(decoded);
  const Tensor back = data::decode_npy(std::as_bytes(std::span(again.data(), again.size())), "round trip");
  if (back.dtype() != decoded.dtype() || back.shape() != decoded.shape()) std::abort();
  const auto bytes = static_cast<std::size_t>(decoded.numel()) * dtype_size(decoded.dtype());
  if (bytes > 0 && std::memcmp(back.raw_data(), decoded.raw_data(), bytes) != 0) std::abort();
}

}  // namespace keel::fuzz
