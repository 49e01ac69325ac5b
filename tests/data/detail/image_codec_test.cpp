#include "keel/data/detail/image_codec.h"

#include <catch2/catch.hpp>

#include <span>
#include <string>
#include <vector>

#include "data/jpeg_bytes.h"
#include "keel/core/error.h"
#include "support/throws.h"

using Catch::Matchers::Contains;
using keel::data::detail::decode_image;

namespace {

std::span<const std::byte> bytes_of(const std::string& s) { return std::as_bytes(std::span(s.data(), s.size())); }

// A flat gray ramp, [height, width, channels].
std::vector<std::uint8_t> ramp(int height, int width, int channels) {
  std::vector<std::uint8_t> v(static_cast<std::size_t>(height * width * channels));
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<std::uint8_t>(i % 251);
  return v;
}

}  // namespace

TEST_CASE("decode_image refuses a JPEG header claiming more pixels than the file can hold, before allocating",
          "[data][image]") {
  // Found by keel_fuzz_image: a 31-byte progressive JPEG (SOF2) claiming 65280x3544 pixels, for which
  // jpeg_start_decompress allocated 231 MB of coefficients. 8 blocks per byte allow 248 blocks here.
  const std::string claim("\xff\xd8\xff\xc2\x00\x11\x08\xff\x00\x0d\xd8\x03\x01\x22\x00\x02\x11\x01\x03\x41\x91\xff\xda"
                          "\x00\x08\x01\x01\x94\x46\x00\x72",
                          31);
  KEEL_CHECK_THROWS(decode_image(bytes_of(claim), 3, "fuzz.jpg"), keel::IOError,
                    Contains("fuzz.jpg: the JPEG image claims 3544x65280 pixels, more than a 31-byte file can hold"));
}

TEST_CASE("decode_image decodes progressive and restart-marked JPEGs and refuses arithmetic-coded ones",
          "[data][image]") {
  const std::vector<std::uint8_t> pixels = ramp(16, 24, 3);
  for (const keel::test::JpegOptions options : {keel::test::JpegOptions{.progressive = true},
                                                keel::test::JpegOptions{.restart_rows = 1}}) {
    const auto image = decode_image(bytes_of(keel::test::jpeg_bytes(24, 16, 3, pixels, options)), 3, "ok.jpg");
    CHECK(image.height == 16);
    CHECK(image.width == 24);
    CHECK(image.pixels.size() == pixels.size());
  }
  const std::string arithmetic = keel::test::jpeg_bytes(24, 16, 3, pixels, {.arithmetic = true});
  KEEL_CHECK_THROWS(decode_image(bytes_of(arithmetic), 3, "arith.jpg"), keel::IOError,
                    Contains("arith.jpg: arithmetic-coded JPEGs are not supported"));
}
