#pragma once
// BatchNormalization followed by MaxPooling2D, as a graph pass hands them to a model
// (models/detail/batch_norm_max_pool_pass.h). When both would run their plain inference kernels on x, one
// pass over x (core/kernels/batch_norm_max_pool.h) gives the two calls' bits and writes only the pooled
// tensor: no gradient recorded, inference calls, the normalization over the last axis of a non-empty
// rank-4 channels-last input, 2x2 windows with stride 2 and "valid" padding, x already in both layers' dtype
// and both layers built for it. Otherwise the two layers' own calls, so errors and results are theirs.
#include "keel/layers/batch_normalization.h"
#include "keel/layers/pooling2d.h"

namespace keel::layers {

// Whether batch_norm_then_max_pool runs the one pass for these arguments.
bool batch_norm_max_pool_fuses(const BatchNormalizationLayer& bn, const CallContext& bn_ctx,
                               const MaxPooling2DLayer& pool, const CallContext& pool_ctx, const Tensor& x);

Tensor batch_norm_then_max_pool(BatchNormalizationLayer& bn, const CallContext& bn_ctx, MaxPooling2DLayer& pool,
                                const CallContext& pool_ctx, const Tensor& x);

}  // namespace keel::layers
