#include "keel/data/detail/image_codec.h"

#include <fmt/format.h>
#include <png.h>
// jpeglib.h needs FILE and size_t declared first.
#include <cstdio>
#include <jpeglib.h>
#include <jerror.h>

#include <csetjmp>
#include <cstring>
#include <string>

#include "keel/core/error.h"

namespace keel::data::detail {
namespace {

constexpr std::uint64_t kMaxPixels = std::uint64_t{1} << 28;
constexpr std::uint64_t kMaxDeflateRatio = 1032;
constexpr std::uint64_t kMaxBlocksPerByte = 8;

[[noreturn]] void fail(std::string_view source, const std::string& problem) {
  throw IOError(fmt::format("{}: {}", source, problem));
}

void check_size(std::uint64_t width, std::uint64_t height, std::string_view source, const char* format) {
  if (width == 0 || height == 0) fail(source, fmt::format("the {} image is {}x{} pixels", format, width, height));
  if (width * height > kMaxPixels)
    fail(source, fmt::format("the {} image claims {}x{} pixels, more than keel decodes (2^28)", format, width, height));
}

std::uint8_t gray_of(std::uint8_t r, std::uint8_t g, std::uint8_t b) {
  return static_cast<std::uint8_t>(0.299 * r + 0.587 * g + 0.114 * b + 0.5);
}

// From gray+alpha or RGBA pixels (source_channels 2 or 4) to `channels`.
DecodedImage convert_channels(const std::vector<std::uint8_t>& in, int source_channels, std::int64_t height,
                              std::int64_t width, int channels) {
  DecodedImage out{height, width, channels, std::vector<std::uint8_t>(static_cast<std::size_t>(height * width * channels))};
  const std::size_t n = static_cast<std::size_t>(height * width);
  for (std::size_t p = 0; p < n; ++p) {
    const std::uint8_t* s = &in[p * static_cast<std::size_t>(source_channels)];
    std::uint8_t* d = &out.pixels[p * static_cast<std::size_t>(channels)];
    const bool color = source_channels == 4;
    const std::uint8_t r = s[0], g = color ? s[1] : s[0], b = color ? s[2] : s[0], a = s[source_channels - 1];
    if (channels == 1) {
      d[0] = color ? gray_of(r, g, b) : r;
    } else {
      d[0] = r;
      d[1] = g;
      d[2] = b;
      if (channels == 4) d[3] = a;
    }
  }
  return out;
}

DecodedImage decode_png(std::span<const std::byte> bytes, int channels, std::string_view source) {
  png_image image;
  std::memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  struct Free {
    png_image* image;
    ~Free() { png_image_free(image); }
  } free_image{&image};
  if (!png_image_begin_read_from_memory(&image, bytes.data(), bytes.size()))
    fail(source, fmt::format("corrupt PNG (libpng: {})", image.message));
  check_size(image.width, image.height, source, "PNG");
  // Each row holds at least a filter byte and width/8 bytes (1-bit pixels), and deflate expands at most
  // 1032:1: a header claiming more rows of data than the file can hold is refused before allocating.
  const std::uint64_t least_data = std::uint64_t{image.height} * (1 + (std::uint64_t{image.width} + 7) / 8);
  if (least_data > kMaxDeflateRatio * bytes.size())
    fail(source, fmt::format("the PNG image claims {}x{} pixels, more than a {}-byte file can hold", image.width,
                             image.height, bytes.size()));
  const bool color = (image.format & PNG_FORMAT_FLAG_COLOR) != 0;
  image.format = color ? PNG_FORMAT_RGBA : PNG_FORMAT_GA;
  const int source_channels = color ? 4 : 2;
  std::vector<std::uint8_t> pixels(PNG_IMAGE_SIZE(image));
  if (!png_image_finish_read(&image, nullptr, pixels.data(), 0, nullptr))
    fail(source, fmt::format("corrupt PNG (libpng: {})", image.message));
  return convert_channels(pixels, source_channels, image.height, image.width, channels);
}

// libjpeg reports errors through error_exit, which must not return: it jumps back to decode_jpeg's setjmp.
struct JpegErrors {
  jpeg_error_mgr manager;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

void jpeg_error_exit(j_common_ptr cinfo) {
  auto* errors = reinterpret_cast<JpegErrors*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, errors->message);
  std::longjmp(errors->jump, 1);
}

// Warnings are ignored, as TensorFlow ignores them, except a stream that ends early: libjpeg would fill
// the missing rows with gray and call the image complete.
void jpeg_warning(j_common_ptr cinfo, int level) {
  if (level == -1 && cinfo->err->msg_code == JWRN_JPEG_EOF) jpeg_error_exit(cinfo);
}

// Everything with a destructor is created before setjmp and outlives the jump, so the jump skips no
// destructor. Returns false with errors.message set when libjpeg fails.
bool run_jpeg_decoder(std::span<const std::byte> bytes, int channels, JpegErrors& errors, jpeg_decompress_struct& cinfo,
                      DecodedImage& out, std::string& problem) {
  if (setjmp(errors.jump)) return false;
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<unsigned long>(bytes.size()));
  jpeg_read_header(&cinfo, TRUE);
  if (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK) {
    problem = "CMYK JPEGs are not supported";
    return true;
  }
  if (cinfo.image_width == 0 || cinfo.image_height == 0 ||
      std::uint64_t{cinfo.image_width} * cinfo.image_height > kMaxPixels) {
    problem = fmt::format("the JPEG image claims {}x{} pixels, which keel does not decode (at most 2^28, none empty)",
                          cinfo.image_width, cinfo.image_height);
    return true;
  }
  if (cinfo.arith_code) {
    problem = "arithmetic-coded JPEGs are not supported (keel decodes Huffman-coded ones)";
    return true;
  }
  // Every 8x8 block of every component costs at least one bit (a Huffman code per block in the first DC
  // scan), so a file holds at most 8 blocks per byte. A header claiming more is refused before
  // jpeg_start_decompress, which allocates a progressive image's coefficients for the whole image.
  std::uint64_t blocks = 0;
  for (int c = 0; c < cinfo.num_components; ++c)
    blocks += std::uint64_t{cinfo.comp_info[c].width_in_blocks} * cinfo.comp_info[c].height_in_blocks;
  if (blocks > kMaxBlocksPerByte * bytes.size()) {
    problem = fmt::format("the JPEG image claims {}x{} pixels, more than a {}-byte file can hold", cinfo.image_width,
                          cinfo.image_height, bytes.size());
    return true;
  }
  cinfo.out_color_space = channels == 1 ? JCS_GRAYSCALE : channels == 3 ? JCS_RGB : JCS_EXT_RGBA;
  jpeg_start_decompress(&cinfo);
  out.height = cinfo.output_height;
  out.width = cinfo.output_width;
  out.channels = channels;
  out.pixels.resize(static_cast<std::size_t>(out.height * out.width * channels));
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row = out.pixels.data() + static_cast<std::size_t>(cinfo.output_scanline) * out.width * channels;
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_decompress(&cinfo);
  return true;
}

DecodedImage decode_jpeg(std::span<const std::byte> bytes, int channels, std::string_view source) {
  JpegErrors errors;
  jpeg_decompress_struct cinfo;
  std::memset(&cinfo, 0, sizeof cinfo);
  cinfo.err = jpeg_std_error(&errors.manager);
  errors.manager.error_exit = jpeg_error_exit;
  errors.manager.emit_message = jpeg_warning;
  DecodedImage out;
  std::string problem;
  const bool ok = run_jpeg_decoder(bytes, channels, errors, cinfo, out, problem);
  jpeg_destroy_decompress(&cinfo);
  if (!ok) fail(source, fmt::format("corrupt JPEG (libjpeg: {})", errors.message));
  if (!problem.empty()) fail(source, problem);
  return out;
}

}  // namespace

bool is_png(std::span<const std::byte> bytes) {
  return bytes.size() >= 8 && std::memcmp(bytes.data(), "\x89PNG\r\n\x1a\n", 8) == 0;
}

bool is_jpeg(std::span<const std::byte> bytes) {
  return bytes.size() >= 3 && std::memcmp(bytes.data(), "\xFF\xD8\xFF", 3) == 0;
}

DecodedImage decode_image(std::span<const std::byte> bytes, int channels, std::string_view source) {
  if (channels != 1 && channels != 3 && channels != 4)
    throw ValueError(fmt::format("{}: channels must be 1, 3 or 4, got {}", source, channels));
  if (is_png(bytes)) return decode_png(bytes, channels, source);
  if (is_jpeg(bytes)) return decode_jpeg(bytes, channels, source);
  if (bytes.empty()) fail(source, "the file is empty");
  fail(source, "not a PNG or JPEG image (keel decodes only those two formats)");
}

}  // namespace keel::data::detail
