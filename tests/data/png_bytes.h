#pragma once
// PNG files assembled chunk by chunk with zlib (the IDAT stream and the CRCs), independently of keel's
// decoder (for tests, and for the image folders bench/ writes).
#include <zlib.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace keel::test {

inline void append_u32_be(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xFF));
}

inline void append_png_chunk(std::string& out, const char* type, const std::string& data) {
  append_u32_be(out, static_cast<std::uint32_t>(data.size()));
  const std::string body = std::string(type, 4) + data;
  out += body;
  append_u32_be(out, static_cast<std::uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size()))));
}

// An 8-bit PNG: color_type 0 gray, 2 RGB, 3 palette (pixels are indices into `palette`, RGB triples),
// 4 gray+alpha, 6 RGBA. `pixels` is row-major, channels interleaved.
inline std::string png_bytes(std::uint32_t width, std::uint32_t height, int color_type, const std::vector<std::uint8_t>& pixels,
                             const std::vector<std::uint8_t>& palette = {}) {
  const int channels = color_type == 0 || color_type == 3 ? 1 : color_type == 2 ? 3 : color_type == 4 ? 2 : 4;
  if (pixels.size() != std::size_t{width} * height * static_cast<std::size_t>(channels))
    throw std::invalid_argument("png_bytes: the pixel count does not match the size and color type");
  std::string out("\x89PNG\r\n\x1a\n", 8);
  std::string ihdr;
  append_u32_be(ihdr, width);
  append_u32_be(ihdr, height);
  ihdr += std::string{8, static_cast<char>(color_type), 0, 0, 0};
  append_png_chunk(out, "IHDR", ihdr);
  if (color_type == 3) append_png_chunk(out, "PLTE", std::string(palette.begin(), palette.end()));
  std::string raw;
  for (std::uint32_t y = 0; y < height; ++y) {
    raw.push_back(0);  // filter: none
    const auto row = pixels.begin() + static_cast<std::ptrdiff_t>(std::size_t{y} * width * static_cast<std::size_t>(channels));
    raw.append(row, row + static_cast<std::ptrdiff_t>(width * static_cast<std::uint32_t>(channels)));
  }
  std::string compressed(compressBound(static_cast<uLong>(raw.size())), '\0');
  uLongf size = static_cast<uLongf>(compressed.size());
  if (compress(reinterpret_cast<Bytef*>(compressed.data()), &size, reinterpret_cast<const Bytef*>(raw.data()),
               static_cast<uLong>(raw.size())) != Z_OK)
    throw std::runtime_error("png_bytes: zlib's compress failed");
  compressed.resize(size);
  append_png_chunk(out, "IDAT", compressed);
  append_png_chunk(out, "IEND", "");
  return out;
}

}  // namespace keel::test
