#pragma once
// Image files for tests, written independently of keel's decoder: PNGs assembled chunk by chunk (zlib for
// the IDAT stream and the CRCs) and JPEGs compressed by libjpeg.
#include <catch2/catch.hpp>
#include <zlib.h>

#include <cstdio>
#include <jpeglib.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
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
  REQUIRE(pixels.size() == std::size_t{width} * height * static_cast<std::size_t>(channels));
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
  REQUIRE(compress(reinterpret_cast<Bytef*>(compressed.data()), &size, reinterpret_cast<const Bytef*>(raw.data()),
                   static_cast<uLong>(raw.size())) == Z_OK);
  compressed.resize(size);
  append_png_chunk(out, "IDAT", compressed);
  append_png_chunk(out, "IEND", "");
  return out;
}

// A baseline JPEG of one solid color (channels 1 or 3), quality 100.
inline std::string solid_jpeg_bytes(int width, int height, int channels, const std::vector<std::uint8_t>& color) {
  jpeg_compress_struct cinfo;
  jpeg_error_mgr jerr;
  cinfo.err = jpeg_std_error(&jerr);
  jpeg_create_compress(&cinfo);
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&cinfo, &buffer, &size);
  cinfo.image_width = static_cast<JDIMENSION>(width);
  cinfo.image_height = static_cast<JDIMENSION>(height);
  cinfo.input_components = channels;
  cinfo.in_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, 100, TRUE);
  jpeg_start_compress(&cinfo, TRUE);
  std::vector<std::uint8_t> row;
  for (int x = 0; x < width; ++x) row.insert(row.end(), color.begin(), color.end());
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW r = row.data();
    jpeg_write_scanlines(&cinfo, &r, 1);
  }
  jpeg_finish_compress(&cinfo);
  std::string out(reinterpret_cast<const char*>(buffer), size);
  jpeg_destroy_compress(&cinfo);
  std::free(buffer);
  return out;
}

inline void write_file_bytes(const std::filesystem::path& path, const std::string& bytes) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(f.good());
}

}  // namespace keel::test
