// libFuzzer target for the NumPy readers: decode_npy on the input, and the same bytes as an .npz archive
// (read_zip_directory, extract_zip_entry, decode_npy on each entry). Allowed outcomes: success or
// keel::IOError. An array that decodes must re-encode to bytes that decode to the same array.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string>

#include "keel/core/error.h"
#include "keel/data/detail/zip_archive.h"
#include "keel/data/npy.h"

namespace {

void check_round_trip(const keel::Tensor& decoded) {
  const std::string again = keel::data::encode_npy(decoded);
  const keel::Tensor back = keel::data::decode_npy(std::as_bytes(std::span(again.data(), again.size())), "round trip");
  if (back.dtype() != decoded.dtype() || back.shape() != decoded.shape()) std::abort();
  const auto bytes = static_cast<std::size_t>(decoded.numel()) * keel::dtype_size(decoded.dtype());
  if (bytes > 0 && std::memcmp(back.raw_data(), decoded.raw_data(), bytes) != 0) std::abort();
}

void decode_or_io_error(std::span<const std::byte> bytes) {
  try {
    check_round_trip(keel::data::decode_npy(bytes, "fuzz input"));
  } catch (const keel::IOError&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto bytes = std::span(reinterpret_cast<const std::byte*>(data), size);
  decode_or_io_error(bytes);
  try {
    for (const auto& entry : keel::data::detail::read_zip_directory(bytes, "fuzz archive")) {
      decode_or_io_error(keel::data::detail::extract_zip_entry(bytes, entry, "fuzz archive"));
    }
  } catch (const keel::IOError&) {
  }
  return 0;
}
