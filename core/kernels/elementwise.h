#pragma once
// Elementwise kernels over Tensors (no gradients): NumPy broadcasting, any strides, a contiguous
// fast path with vectorizable inner loops. Float ops need float32 or float64 operands of one dtype.
#include "keel/core/tensor.h"

namespace keel::kernels {

enum class UnaryOp { neg, abs, exp, log, log1p, expm1, sqrt, square, reciprocal, sign, tanh, sigmoid, relu, softplus, erf };
enum class BinaryOp { add, sub, mul, div, pow, maximum, minimum };
enum class CompareOp { eq, ne, lt, le, gt, ge };

const char* op_name(UnaryOp op);
const char* op_name(BinaryOp op);

Tensor unary(UnaryOp op, const Tensor& x);
Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b);
// Writes a (op) b into `out` (shape = broadcast shape of a and b; may alias a when a has that shape).
void binary_into(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out);
// Elementwise comparison; a bool tensor of the broadcast shape. NaN compares false except for ne.
Tensor compare(CompareOp op, const Tensor& a, const Tensor& b);
// cond (bool) ? a : b, all three broadcast together; a and b share a dtype.
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
// min(max(x, lo), hi); NaN stays NaN.
Tensor clip(const Tensor& x, double lo, double hi);
// Gradient pieces that are hot on the training path.
Tensor relu_backward(const Tensor& grad_y, const Tensor& y);        // grad_y where y > 0
Tensor sigmoid_backward(const Tensor& grad_y, const Tensor& y);     // grad_y * y * (1 - y)
Tensor tanh_backward(const Tensor& grad_y, const Tensor& y);        // grad_y * (1 - y²)

}  // namespace keel::kernels
