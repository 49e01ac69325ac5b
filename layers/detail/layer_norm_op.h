#pragma once
// LayerNormalization's fused path as one differentiable op: a contiguous view [rows, cols] of x,
// normalized over its last axis by the core kernels (core/kernels/layer_norm.h), with its own
// backward. gamma and beta are [cols] or undefined.
#include "keel/core/tensor.h"

namespace keel::layers::detail {

Tensor layer_norm_last_axis(const Tensor& x, const Tensor& gamma, const Tensor& beta, double epsilon);

}  // namespace keel::layers::detail
