#pragma once
// Internal to models/: how losses and metrics line up y_true with y_pred and read sample weights.
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include "keel/core/tensor.h"

namespace keel::models::detail {

// Keras's squeeze_or_expand_to_same_rank: when the ranks differ by one and the longer shape ends in 1,
// the ranks are equalized (by unsqueezing a rank-1 partner, else squeezing the 1). Rank-1 results are
// viewed as [N, 1] (one output per sample). The shapes must then be equal: ShapeError "`op`: target and
// output must have the same shape" with both original shapes. y_pred must be float32 or float64
// (ValueError); y_true comes back in y_pred's dtype. Differentiable (reshapes and casts only).
std::pair<Tensor, Tensor> aligned_targets(const Tensor& y_true, const Tensor& y_pred, std::string_view op);

// Checks that sparse labels fit predictions of shape [..., C]: y_true is [...] or [..., 1]. Returns the
// number of labels; ShapeError naming both shapes otherwise.
std::int64_t sparse_label_count(const Shape& y_true_shape, const Shape& y_pred_shape, std::string_view op);

// Sparse labels as a contiguous int64 [count] tensor. Float labels must hold integers (ValueError);
// labels outside [0, classes) are an IndexError naming the row and the value.
Tensor sparse_labels(const Tensor& y_true, std::int64_t classes, std::string_view op);

// One weight per sample for `samples` samples, from a scalar, [N] or [N, 1] tensor; an empty vector for
// an undefined tensor. ShapeError naming the shape otherwise.
std::vector<double> per_sample_weights(const Tensor& sample_weight, std::int64_t samples, std::string_view op);

// y_true in y_pred's dtype: cast (differentiably) when both are floats, converted otherwise.
Tensor target_like(const Tensor& y_true, const Tensor& y_pred);

// ValueError naming `op` unless `t` is float32 or float64.
void require_floating(const Tensor& t, std::string_view op, std::string_view argument);

}  // namespace keel::models::detail
