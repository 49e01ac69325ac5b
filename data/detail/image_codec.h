#pragma once
// PNG (libpng) and JPEG (libjpeg-turbo) decoding to 8-bit pixels, the format told by the bytes'
// signature, not by the file name.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace keel::data::detail {

struct DecodedImage {
  std::int64_t height = 0, width = 0, channels = 0;
  std::vector<std::uint8_t> pixels;  // row-major [height, width, channels]
};

// Decodes to `channels` (1 gray, 3 RGB, 4 RGBA) as tf.image.decode_image(channels=...) does: color to
// gray by 0.299 R + 0.587 G + 0.114 B (libjpeg's own conversion for JPEG), gray to color by repeating the
// value, alpha dropped, or added as 255. PNG palettes, low bit depths and tRNS transparency are expanded
// by libpng; 16-bit PNGs are reduced to 8 bits by libpng's simplified reader. IOError starting with `source`
// for anything else (another format, a corrupt or truncated file, CMYK or arithmetic-coded JPEGs, more
// than 2^28 pixels, or a header claiming more pixels than the file's size can encode).
DecodedImage decode_image(std::span<const std::byte> bytes, int channels, std::string_view source);

// The bytes start with the PNG or JPEG signature.
bool is_png(std::span<const std::byte> bytes);
bool is_jpeg(std::span<const std::byte> bytes);

}  // namespace keel::data::detail
