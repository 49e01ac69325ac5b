#pragma once
// keel's differentiable ops. Each records a node on the tape when a gradient is needed (see
// record.h); under NoGrad they are plain kernels. Arithmetic broadcasts like NumPy, and the
// gradient of a broadcast operand is summed back to its shape.
#include <cstdint>
#include <vector>

#include "keel/core/tensor.h"

namespace keel {
namespace ops {

// Arithmetic.
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor pow(const Tensor& a, double exponent);
Tensor maximum(const Tensor& a, const Tensor& b);  // gradient to a where a >= b
Tensor minimum(const Tensor& a, const Tensor& b);  // gradient to a where a <= b
Tensor neg(const Tensor& x);
Tensor abs(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor log1p(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor square(const Tensor& x);
Tensor erf(const Tensor& x);
Tensor clip(const Tensor& x, double lo, double hi);   // gradient 1 strictly inside [lo, hi]
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
// A scalar tensor of x's dtype (for mixing numbers into ops).
Tensor scalar_like(const Tensor& x, double value);
// Converts dtype; the gradient is converted back.
Tensor cast(const Tensor& x, DType dtype);
// A float32 tensor's values rounded to the nearest bfloat16 (kernels::round_to_bfloat16), stored as float32;
// the gradient is rounded the same way, as a bfloat16 tensor's gradient would be. ValueError for other dtypes.
Tensor round_to_bfloat16(const Tensor& x);

// Comparisons (no gradient): bool tensors of the broadcast shape.
Tensor equal(const Tensor& a, const Tensor& b);
Tensor greater(const Tensor& a, const Tensor& b);
Tensor greater_equal(const Tensor& a, const Tensor& b);
Tensor less(const Tensor& a, const Tensor& b);
Tensor less_equal(const Tensor& a, const Tensor& b);

// Activations (docs/semantics.md §7).
Tensor relu(const Tensor& x);
Tensor relu6(const Tensor& x);
Tensor leaky_relu(const Tensor& x, double negative_slope = 0.2);
Tensor elu(const Tensor& x, double alpha = 1.0);
Tensor selu(const Tensor& x);
Tensor gelu(const Tensor& x);  // exact, with erf
Tensor sigmoid(const Tensor& x);
Tensor hard_sigmoid(const Tensor& x);  // relu6(x + 3) / 6
Tensor tanh(const Tensor& x);
Tensor softplus(const Tensor& x);
Tensor softsign(const Tensor& x);
Tensor swish(const Tensor& x);  // x * sigmoid(x), also called silu
Tensor softmax(const Tensor& x, std::int64_t axis = -1);
Tensor log_softmax(const Tensor& x, std::int64_t axis = -1);

// Reductions over `axes` (empty = all).
Tensor sum(const Tensor& x, const std::vector<std::int64_t>& axes = {}, bool keepdims = false);
Tensor mean(const Tensor& x, const std::vector<std::int64_t>& axes = {}, bool keepdims = false);
Tensor var(const Tensor& x, const std::vector<std::int64_t>& axes = {}, bool keepdims = false);  // biased
// Gradient shared equally among tied maxima (minima).
Tensor max(const Tensor& x, const std::vector<std::int64_t>& axes = {}, bool keepdims = false);
Tensor min(const Tensor& x, const std::vector<std::int64_t>& axes = {}, bool keepdims = false);
Tensor argmax(const Tensor& x, std::int64_t axis = -1, bool keepdims = false);  // int64, no gradient

// Views and shape changes.
Tensor reshape(const Tensor& x, const Shape& shape);
Tensor permute(const Tensor& x, const std::vector<std::int64_t>& dims);
Tensor transpose(const Tensor& x, std::int64_t a, std::int64_t b);
Tensor narrow(const Tensor& x, std::int64_t axis, std::int64_t start, std::int64_t length);
Tensor slice(const Tensor& x, std::int64_t axis, std::int64_t start, std::int64_t stop, std::int64_t step = 1);
Tensor broadcast_to(const Tensor& x, const Shape& shape);
Tensor squeeze(const Tensor& x, std::int64_t axis);
Tensor unsqueeze(const Tensor& x, std::int64_t axis);
Tensor flatten(const Tensor& x, std::int64_t start_axis = 1);  // keeps axes before start_axis
Tensor contiguous(const Tensor& x);
Tensor concat(const std::vector<Tensor>& xs, std::int64_t axis);
// Rows of x along axis 0 at the given int64 indices (a batch gather).
Tensor take_rows(const Tensor& x, const Tensor& indices);

// Linear algebra.
Tensor matmul(const Tensor& a, const Tensor& b);
// x [m, k] @ kernel [k, n] + bias [n] (bias may be undefined), with ReLU optionally applied in the
// same pass over the output: one GEMM and one elementwise pass (Dense's hot path).
Tensor linear(const Tensor& x, const Tensor& kernel, const Tensor& bias, bool relu = false);

// Convolution and pooling on rank-4 inputs (NHWC unless channels_first). Kernels are
// [kh, kw, in, out] in both layouts (Keras's layout); padding is "valid" or "same".
struct Conv2dOptions {
  std::int64_t stride_h = 1, stride_w = 1;
  std::int64_t dilation_h = 1, dilation_w = 1;
  bool same_padding = false;
  bool channels_first = false;
  bool relu = false;  // ReLU applied in the output pass (Conv2D's fused activation)
};
// bias may be undefined.
Tensor conv2d(const Tensor& x, const Tensor& kernel, const Tensor& bias, const Conv2dOptions& options = {});

// Depthwise convolution: kernel [kh, kw, in, multiplier] (Keras's layout in both data formats), bias
// [in * multiplier] or undefined; output channel c * multiplier + m sees input channel c only. A direct NHWC
// kernel (channels_first is transposed to it and back); `relu` is applied to the result.
Tensor depthwise_conv2d(const Tensor& x, const Tensor& kernel, const Tensor& bias, const Conv2dOptions& options = {});

// The transpose (adjoint) of conv2d with respect to its input: kernel [kh, kw, filters, in] (Keras's
// Conv2DTranspose layout), bias [filters] or undefined. The output size per spatial axis is Keras's: without
// output_padding, in * stride (+ max(effective kernel - stride, 0) under "valid"); with it,
// (in - 1) * stride + effective kernel - 2 * pad + output_padding, pad = effective kernel / 2 under "same".
struct Conv2dTransposeOptions {
  std::int64_t stride_h = 1, stride_w = 1;
  std::int64_t dilation_h = 1, dilation_w = 1;
  std::int64_t output_padding_h = -1, output_padding_w = -1;  // -1: none (inferred)
  bool same_padding = false;
  bool channels_first = false;
};
Tensor conv2d_transpose(const Tensor& x, const Tensor& kernel, const Tensor& bias,
                        const Conv2dTransposeOptions& options = {});

struct Pool2dOptions {
  std::int64_t pool_h = 2, pool_w = 2;
  std::int64_t stride_h = 2, stride_w = 2;
  bool same_padding = false;
  bool channels_first = false;
};
Tensor max_pool2d(const Tensor& x, const Pool2dOptions& options = {});
// With "same" padding the average counts only real inputs (Keras).
Tensor avg_pool2d(const Tensor& x, const Pool2dOptions& options = {});

// Cross-entropy pieces: per-row -log_softmax(logits)[label], fused and stable; labels int64 in [0, C).
Tensor sparse_softmax_cross_entropy(const Tensor& logits, const Tensor& labels);

}  // namespace ops

// Operators on Tensors are the differentiable ops; a double operand becomes a scalar of the
// tensor's dtype.
Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& x);
Tensor operator+(const Tensor& a, double b);
Tensor operator-(const Tensor& a, double b);
Tensor operator*(const Tensor& a, double b);
Tensor operator/(const Tensor& a, double b);
Tensor operator+(double a, const Tensor& b);
Tensor operator-(double a, const Tensor& b);
Tensor operator*(double a, const Tensor& b);
Tensor operator/(double a, const Tensor& b);

}  // namespace keel
