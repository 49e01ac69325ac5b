#pragma once
// Internal to models/losses: the fused, stable binary cross-entropy on logits.
#include "keel/core/tensor.h"

namespace keel::losses::detail {

// Elementwise max(x, 0) − x·y + log1p(exp(−|x|)) for logits x and targets y of one shape and float dtype.
// Gradients: g·(sigmoid(x) − y) to x (exact at x = 0, finite for any finite x) and −g·x to y.
Tensor sigmoid_cross_entropy(const Tensor& logits, const Tensor& targets);

}  // namespace keel::losses::detail
