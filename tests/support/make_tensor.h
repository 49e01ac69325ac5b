#pragma once
// Small tensors from literal values, for tests.
#include <vector>

#include "keel/core/tensor.h"

namespace keel::test {

inline Tensor f32(const std::vector<double>& v, const Shape& s) { return Tensor::from_vector(v, s, DType::float32); }
inline Tensor f64(const std::vector<double>& v, const Shape& s) { return Tensor::from_vector(v, s, DType::float64); }
inline Tensor i64(const std::vector<double>& v, const Shape& s) { return Tensor::from_vector(v, s, DType::int64); }

}  // namespace keel::test
