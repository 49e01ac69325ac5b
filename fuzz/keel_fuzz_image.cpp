// libFuzzer target for decode_image, the PNG (libpng) and JPEG (libjpeg-turbo) decoder behind
// image_dataset_from_directory, on bytes in memory. Each input is decoded to 1, 3 and 4 channels. Allowed
// outcomes: success or keel::IOError; what decodes must hold height * width * channels pixels.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "keel/core/error.h"
#include "keel/data/detail/image_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto bytes = std::span(reinterpret_cast<const std::byte*>(data), size);
  for (int channels : {1, 3, 4}) {
    try {
      const keel::data::detail::DecodedImage image = keel::data::detail::decode_image(bytes, channels, "fuzz image");
      if (image.channels != channels || image.height < 1 || image.width < 1 ||
          image.pixels.size() != static_cast<std::size_t>(image.height * image.width * image.channels))
        std::abort();
    } catch (const keel::IOError&) {
    }
  }
  return 0;
}
