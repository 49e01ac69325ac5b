#pragma once
#include "keel/core/tensor.h"

namespace keel::kernels {

// Along the last axis, max-subtracted (log-sum-exp stable). A row of all -inf gives NaN.
Tensor softmax(const Tensor& x);
Tensor log_softmax(const Tensor& x);
// Backward given the forward output y: softmax: y * (g - Σ g·y); log_softmax: g - exp(y) · Σ g.
Tensor softmax_backward(const Tensor& grad_y, const Tensor& y);
Tensor log_softmax_backward(const Tensor& grad_y, const Tensor& y);

}  // namespace keel::kernels
