#pragma once
// Shared by the image augmentation layers: their inputs are channels_last images, batched
// [N, H, W, C] or single [H, W, C]; a single image is processed as a batch of one.
#include "keel/core/tensor.h"
#include "keel/layers/layer.h"

namespace keel::layers::image {

// The input as a float [N, H, W, C] batch in the layer's dtype; ShapeError naming the layer otherwise.
Tensor as_batch(const Layer& layer, const Tensor& x);
// `y` ([N, H, W, C]) back to the rank of the original input `x`.
Tensor like_input(const Tensor& y, const Tensor& x);
// from_config: a "data_format" other than channels_last (or null) is a ValueError naming the layer class.
void require_channels_last(const char* class_name, const nlohmann::json& config);

}  // namespace keel::layers::image
