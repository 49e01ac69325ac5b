#pragma once
// Resizing 8-bit images to float32 as tf.image.resize does (half-pixel centers, no antialiasing), and the
// centered crop of keras.preprocessing.image.smart_resize.
#include <cstdint>
#include <string>

#include "keel/core/tensor.h"
#include "keel/data/detail/image_codec.h"

namespace keel::data::detail {

struct CropBox {
  std::int64_t top, left, height, width;
};

// The whole image.
CropBox full_image(const DecodedImage& image);
// smart_resize's crop: the largest centered window with the target's aspect ratio (computed in float32
// and truncated, as Keras does).
CropBox aspect_ratio_crop(const DecodedImage& image, std::int64_t target_height, std::int64_t target_width);

// The crop of `image` resized to [target_height, target_width, channels] float32 values in [0, 255].
// "bilinear": source coordinate (out + 0.5) * in / out - 0.5, the two neighbours clamped to the image;
// "nearest": floor((out + 0.5) * in / out), clamped. ValueError for another interpolation.
Tensor resize_image(const DecodedImage& image, const CropBox& crop, std::int64_t target_height,
                    std::int64_t target_width, const std::string& interpolation);

}  // namespace keel::data::detail
