#pragma once
// Reductions over any set of axes (empty = all), with keepdims. Float sums accumulate in double
// over fixed blocks combined in order, so results do not depend on the thread count.
#include <cstdint>
#include <vector>

#include "keel/core/tensor.h"

namespace keel::kernels {

enum class ReduceOp { sum, mean, max, min };

Tensor reduce(ReduceOp op, const Tensor& x, const std::vector<std::int64_t>& axes, bool keepdims);
// Index of the first maximum along `axis` (NaN counts as the maximum), as int64.
Tensor argmax(const Tensor& x, std::int64_t axis, bool keepdims = false);
// Sorted, de-duplicated, non-negative axes; empty input means every axis. ShapeError on a repeat.
std::vector<int> normalize_axes(const std::vector<std::int64_t>& axes, std::int64_t rank, const char* op);
// Shape after reducing `axes` (normalized) with or without keepdims.
Shape reduced_shape(const Shape& shape, const std::vector<int>& axes, bool keepdims);

}  // namespace keel::kernels
