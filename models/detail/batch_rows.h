#pragma once
// Rows of the tensors fit, evaluate and predict batch: samples are along the first axis.
#include <cstdint>

#include "keel/core/tensor.h"

namespace keel::models::detail {

// The number of samples in `t`: its first dimension (1 for a scalar).
inline std::int64_t samples_of(const Tensor& t) { return t.dim() == 0 ? 1 : t.shape()[0]; }

// Rows [begin, end) of `t` as a view; an undefined tensor stays undefined.
Tensor rows(const Tensor& t, std::int64_t begin, std::int64_t end);

// The rows of `t` at `indices` (int64), copied; an undefined tensor stays undefined.
Tensor rows_at(const Tensor& t, const Tensor& indices);

}  // namespace keel::models::detail
