#pragma once
// Image files for tests, written independently of keel's decoder: PNGs assembled chunk by chunk
// (data/png_bytes.h) and JPEGs compressed by libjpeg (data/jpeg_bytes.h).
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "data/jpeg_bytes.h"
#include "data/png_bytes.h"

namespace keel::test {

// A baseline JPEG of one solid color (channels 1 or 3), quality 100.
inline std::string solid_jpeg_bytes(int width, int height, int channels, const std::vector<std::uint8_t>& color) {
  std::vector<std::uint8_t> pixels;
  for (int p = 0; p < width * height; ++p) pixels.insert(pixels.end(), color.begin(), color.end());
  return jpeg_bytes(width, height, channels, pixels);
}

inline void write_file_bytes(const std::filesystem::path& path, const std::string& bytes) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(f.good());
}

}  // namespace keel::test
