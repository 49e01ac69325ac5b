// Writes the image fuzzer's seed corpus into the directory given as argv[1], encoded by libpng and
// libjpeg themselves (not by keel): PNGs in every color type (gray, gray+alpha, RGB, RGBA, palette with
// transparency) and 16-bit, JPEGs gray, RGB, progressive and with restart markers. The images are tiny
// so that the fuzzer mutates headers and compressed data, not pixels.
#include <png.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "data/jpeg_bytes.h"

namespace {

namespace fs = std::filesystem;

void write_bytes(const fs::path& path, const void* data, std::size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
  if (!out) {
    std::fprintf(stderr, "make_image_seeds: cannot write %s\n", path.c_str());
    std::exit(1);
  }
}

// A gradient, so that the compressed data is not trivial.
std::vector<std::uint8_t> gradient(std::size_t values) {
  std::vector<std::uint8_t> v(values);
  for (std::size_t i = 0; i < values; ++i) v[i] = static_cast<std::uint8_t>(i * 37 + i / 5);
  return v;
}

void write_png(const fs::path& path, std::uint32_t format, int width, int height, bool colormap = false) {
  png_image image;
  std::memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  image.width = static_cast<png_uint_32>(width);
  image.height = static_cast<png_uint_32>(height);
  image.format = format;
  std::vector<std::uint8_t> colors;
  std::vector<std::uint8_t> pixels;
  if (colormap) {
    image.colormap_entries = 4;
    colors = {0, 0, 0, 255, 255, 0, 0, 128, 0, 255, 0, 0, 0, 0, 255, 255};  // RGBA entries, two translucent
    pixels = gradient(static_cast<std::size_t>(width * height));
    for (auto& p : pixels) p %= 4;
  } else {
    pixels = gradient(PNG_IMAGE_SIZE(image));
  }
  png_alloc_size_t size = 0;
  const void* map = colormap ? colors.data() : nullptr;
  if (!png_image_write_get_memory_size(image, size, 0, pixels.data(), 0, map)) {
    std::fprintf(stderr, "make_image_seeds: libpng: %s\n", image.message);
    std::exit(1);
  }
  std::vector<std::uint8_t> out(size);
  png_image_write_to_memory(&image, out.data(), &size, 0, pixels.data(), 0, map);
  write_bytes(path, out.data(), size);
}

void write_jpeg(const fs::path& path, int width, int height, int channels, const keel::test::JpegOptions& options) {
  const auto values = static_cast<std::size_t>(width * height * channels);
  const std::string bytes = keel::test::jpeg_bytes(width, height, channels, gradient(values), options);
  write_bytes(path, bytes.data(), bytes.size());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  const fs::path dir = argv[1];
  fs::create_directories(dir);
  write_png(dir / "gray.png", PNG_FORMAT_GRAY, 5, 3);
  write_png(dir / "gray_alpha.png", PNG_FORMAT_GA, 4, 4);
  write_png(dir / "rgb.png", PNG_FORMAT_RGB, 3, 5);
  write_png(dir / "rgba.png", PNG_FORMAT_RGBA, 6, 2);
  write_png(dir / "rgb16.png", PNG_FORMAT_LINEAR_RGB, 3, 3);
  write_png(dir / "palette_trns.png", PNG_FORMAT_RGBA | PNG_FORMAT_FLAG_COLORMAP, 7, 3, true);
  write_jpeg(dir / "gray.jpg", 9, 7, 1, {.quality = 75});
  write_jpeg(dir / "rgb.jpg", 17, 9, 3, {.quality = 75});
  write_jpeg(dir / "progressive.jpg", 16, 16, 3, {.quality = 75, .progressive = true});
  write_jpeg(dir / "restarts.jpg", 24, 24, 3, {.quality = 75, .restart_rows = 1});
  return 0;
}
