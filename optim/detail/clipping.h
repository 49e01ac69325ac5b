#pragma once
// Gradient clipping (Keras's clip_by_norm, clip_by_value, clip_by_global_norm). Returns new
// tensors; the gradients passed in (often a variable's grad()) are never modified.
#include <vector>

#include "keel/core/tensor.h"

namespace keel::optim {

// Σ g² accumulated in double, in element order (deterministic).
double squared_l2_norm(const Tensor& gradient);

// Per tensor: g·c / max(‖g‖, c).
Tensor clip_by_norm(const Tensor& gradient, double clipnorm);
// clip(g, −c, c).
Tensor clip_by_value(const Tensor& gradient, double clipvalue);
// Every tensor scaled by c / max(‖(g₁, g₂, …)‖, c); a non-finite global norm makes every gradient NaN (Keras).
std::vector<Tensor> clip_by_global_norm(const std::vector<Tensor>& gradients, double global_clipnorm);

}  // namespace keel::optim
