#pragma once
// LayerNormalization's and GroupNormalization's fused paths, each one differentiable op over its core
// kernels (core/kernels/layer_norm.h, group_norm.h) with its own backward. gamma and beta are
// undefined or hold one value per normalized column (LayerNormalization) or channel (GroupNormalization).
#include "keel/core/kernels/group_norm.h"
#include "keel/core/tensor.h"

namespace keel::layers::detail {

// x viewed as [rows, cols], cols its last axis, each row normalized.
Tensor layer_norm_last_axis(const Tensor& x, const Tensor& gamma, const Tensor& beta, double epsilon);

// x viewed as `layout` (its element count must match), each sample's groups normalized.
Tensor group_norm(const Tensor& x, const kernels::GroupNormLayout& layout, const Tensor& gamma, const Tensor& beta,
                  double epsilon);

}  // namespace keel::layers::detail
