#include "keel/models/detail/crc32.h"

#include <zlib.h>

#include <algorithm>

namespace keel::io {

std::uint32_t crc32(std::span<const std::byte> bytes, std::uint32_t seed) {
  uLong crc = seed;
  const auto* p = reinterpret_cast<const Bytef*>(bytes.data());
  std::size_t left = bytes.size();
  while (left > 0) {  // zlib takes a 32-bit length
    auto n = static_cast<uInt>(std::min<std::size_t>(left, 1u << 30));
    crc = ::crc32(crc, p, n);
    p += n;
    left -= n;
  }
  return static_cast<std::uint32_t>(crc);
}

}  // namespace keel::io
