#pragma once
// Shared by the image augmentation layers: their inputs are channels_last images, batched
// [N, H, W, C] or single [H, W, C]; a single image is processed as a batch of one.
#include <cstdint>
#include <vector>

#include "keel/core/config_reader.h"
#include "keel/core/tensor.h"
#include "keel/layers/layer.h"

namespace keel::layers::image {

// The input as a float [N, H, W, C] batch in the layer's dtype; ShapeError naming the layer otherwise.
Tensor as_batch(const Layer& layer, const Tensor& x);
// `y` ([N, H, W, C]) back to the rank of the original input `x`.
Tensor like_input(const Tensor& y, const Tensor& x);
// `per_image` uniform [0, 1) draws for each of the n images of this call, indexed by the image's place
// in the global batch (ctx.first_sample + i), so a data-parallel replica's share of a batch draws what
// one process would. Image i's draws are [i * per_image, (i + 1) * per_image).
std::vector<double> per_image_uniforms(const CallContext& ctx, std::int64_t n, std::int64_t per_image,
                                       std::uint64_t seed);
// from_config: a "data_format" other than channels_last (or null) is a ValueError naming the layer class.
void require_channels_last(config::ConfigReader& reader);

}  // namespace keel::layers::image
