#include "keel/data/detail/image_resize.h"

#include <catch2/catch.hpp>

#include "keel/core/error.h"

using keel::data::detail::aspect_ratio_crop;
using keel::data::detail::DecodedImage;
using keel::data::detail::full_image;
using keel::data::detail::resize_image;

TEST_CASE("resize_image follows tf.image.resize's half-pixel centers at a fractional scale", "[data][image]") {
  const DecodedImage row{1, 3, 1, {0, 100, 200}};
  // 3 -> 2, scale 1.5: source x = (x + 0.5) * 1.5 - 0.5 = 0.25 and 1.75.
  CHECK(resize_image(row, full_image(row), 1, 2, "bilinear").to_vector() == std::vector<double>{25, 175});
  // nearest: floor((x + 0.5) * 1.5) = 0 and 2.
  CHECK(resize_image(row, full_image(row), 1, 2, "nearest").to_vector() == std::vector<double>{0, 200});
  // Two channels are resized independently; rows the same way as columns.
  const DecodedImage column{3, 1, 2, {0, 10, 100, 20, 200, 30}};
  CHECK(resize_image(column, full_image(column), 2, 1, "bilinear").to_vector() == std::vector<double>{25, 12.5, 175, 27.5});
  CHECK_THROWS_AS(resize_image(row, full_image(row), 1, 2, "bicubic"), keel::ValueError);
}

TEST_CASE("aspect_ratio_crop is smart_resize's centered window", "[data][image]") {
  const DecodedImage tall{10, 4, 1, std::vector<std::uint8_t>(40)};
  // Target 1:1 on a 10x4 image: crop_height = int(4 * 1 / 1) = 4, top = int((10 - 4) / 2) = 3.
  const auto square = aspect_ratio_crop(tall, 8, 8);
  CHECK((square.top == 3 && square.left == 0 && square.height == 4 && square.width == 4));
  // Target 3:2 (height:width) on 10x4: crop_height = int(4 * 3 / 2) = 6, top = 2; crop_width = min(4, int(10 * 2 / 3)) = 4.
  const auto crop = aspect_ratio_crop(tall, 3, 2);
  CHECK((crop.top == 2 && crop.left == 0 && crop.height == 6 && crop.width == 4));
}
