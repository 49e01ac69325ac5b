#pragma once
#include <cstddef>
#include <cstdint>
#include <span>

namespace keel::io {

// zlib's CRC-32 (the one Python's zlib.crc32 computes); `seed` continues an earlier checksum.
std::uint32_t crc32(std::span<const std::byte> bytes, std::uint32_t seed = 0);

}  // namespace keel::io
