#include "keel/data/detail/image_resize.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "keel/core/error.h"

namespace keel::data::detail {
namespace {

// For each output coordinate: the two source rows (or columns) and the weight of the second.
struct Taps {
  std::vector<std::int64_t> low, high;
  std::vector<float> weight;
};

Taps bilinear_taps(std::int64_t in, std::int64_t out) {
  Taps t;
  const float scale = static_cast<float>(in) / static_cast<float>(out);
  for (std::int64_t o = 0; o < out; ++o) {
    const float src = (static_cast<float>(o) + 0.5f) * scale - 0.5f;
    const float floor_src = std::floor(src);
    t.low.push_back(std::max<std::int64_t>(static_cast<std::int64_t>(floor_src), 0));
    t.high.push_back(std::min<std::int64_t>(static_cast<std::int64_t>(std::ceil(src)), in - 1));
    t.weight.push_back(src - floor_src);
  }
  return t;
}

Taps nearest_taps(std::int64_t in, std::int64_t out) {
  Taps t;
  const float scale = static_cast<float>(in) / static_cast<float>(out);
  for (std::int64_t o = 0; o < out; ++o) {
    const auto src = static_cast<std::int64_t>(std::floor((static_cast<float>(o) + 0.5f) * scale));
    const std::int64_t index = std::clamp<std::int64_t>(src, 0, in - 1);
    t.low.push_back(index);
    t.high.push_back(index);
    t.weight.push_back(0.0f);
  }
  return t;
}

}  // namespace

CropBox full_image(const DecodedImage& image) { return {0, 0, image.height, image.width}; }

CropBox aspect_ratio_crop(const DecodedImage& image, std::int64_t target_height, std::int64_t target_width) {
  const std::int64_t h = image.height, w = image.width;
  auto crop_height = static_cast<std::int64_t>(static_cast<float>(w * target_height) / static_cast<float>(target_width));
  crop_height = std::max<std::int64_t>(std::min(h, crop_height), 1);
  auto crop_width = static_cast<std::int64_t>(static_cast<float>(h * target_width) / static_cast<float>(target_height));
  crop_width = std::max<std::int64_t>(std::min(w, crop_width), 1);
  const auto top = static_cast<std::int64_t>(static_cast<float>(h - crop_height) / 2.0f);
  const auto left = static_cast<std::int64_t>(static_cast<float>(w - crop_width) / 2.0f);
  return {top, left, crop_height, crop_width};
}

Tensor resize_image(const DecodedImage& image, const CropBox& crop, std::int64_t target_height,
                    std::int64_t target_width, const std::string& interpolation) {
  Taps rows, cols;
  if (interpolation == "bilinear") {
    rows = bilinear_taps(crop.height, target_height);
    cols = bilinear_taps(crop.width, target_width);
  } else if (interpolation == "nearest") {
    rows = nearest_taps(crop.height, target_height);
    cols = nearest_taps(crop.width, target_width);
  } else {
    throw ValueError(fmt::format("resize_image: interpolation must be 'bilinear' or 'nearest', got '{}'", interpolation));
  }
  const std::int64_t c = image.channels;
  Tensor out = Tensor::empty({target_height, target_width, c}, DType::float32);
  float* dst = out.data<float>();
  auto pixel = [&](std::int64_t y, std::int64_t x, std::int64_t k) {
    return static_cast<float>(image.pixels[static_cast<std::size_t>(((crop.top + y) * image.width + crop.left + x) * c + k)]);
  };
  for (std::int64_t y = 0; y < target_height; ++y) {
    const std::size_t yi = static_cast<std::size_t>(y);
    for (std::int64_t x = 0; x < target_width; ++x) {
      const std::size_t xi = static_cast<std::size_t>(x);
      for (std::int64_t k = 0; k < c; ++k) {
        const float top_left = pixel(rows.low[yi], cols.low[xi], k), top_right = pixel(rows.low[yi], cols.high[xi], k);
        const float bottom_left = pixel(rows.high[yi], cols.low[xi], k), bottom_right = pixel(rows.high[yi], cols.high[xi], k);
        const float top = top_left + (top_right - top_left) * cols.weight[xi];
        const float bottom = bottom_left + (bottom_right - bottom_left) * cols.weight[xi];
        *dst++ = top + (bottom - top) * rows.weight[yi];
      }
    }
  }
  return out;
}

}  // namespace keel::data::detail
