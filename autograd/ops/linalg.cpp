#include <fmt/format.h>

#include "keel/autograd/engine.h"
#include "keel/autograd/ops.h"
#include "keel/autograd/record.h"
#include "keel/core/dispatch.h"
#include "keel/core/error.h"
#include "keel/core/kernels/elementwise.h"
#include "keel/core/kernels/matmul.h"
#include "keel/core/kernels/reduce.h"
#include "keel/core/parallel.h"

namespace keel::ops {

Tensor matmul(const Tensor& a, const Tensor& b) {
  return record("matmul", kernels::matmul(a, b), {a, b}, [a, b](const Tensor& g) {
    // dA = g · Bᵀ, dB = Aᵀ · g; transposed views go to BLAS without copies. A 2-D operand used
    // across a batch gets a batched gradient that the engine sums back to its shape.
    return Grads{kernels::matmul(g, b.transpose(-1, -2)), kernels::matmul(a.transpose(-1, -2), g)};
  }, {a, b});
}

Tensor linear(const Tensor& x, const Tensor& kernel, const Tensor& bias, bool relu) {
  if (x.dim() != 2 || kernel.dim() != 2)
    throw ShapeError(fmt::format("linear: expected x [batch, in] and kernel [in, out], got {} and {}", to_string(x.shape()),
                                 to_string(kernel.shape())));
  if (bias.defined() && bias.shape() != Shape{kernel.shape()[1]})
    throw ShapeError(fmt::format("linear: bias shape {} does not match kernel shape {}", to_string(bias.shape()),
                                 to_string(kernel.shape())));
  Tensor y = kernels::matmul(x, kernel);  // ShapeError names both shapes on a mismatch
  const std::int64_t rows = y.shape()[0], cols = y.shape()[1];
  if (bias.defined() || relu) {
    Tensor b = bias.defined() ? bias.contiguous() : Tensor();
    keel::detail::dispatch_float(y.dtype(), "linear", [&](auto tag) {
      using T = decltype(tag);
      T* py = y.data<T>();
      const T* pb = b.defined() ? b.template data<T>() : nullptr;
      parallel::for_each_chunk(0, rows, std::max<std::int64_t>(1, 32768 / std::max<std::int64_t>(cols, 1)),
                               [&](std::int64_t, std::int64_t r0, std::int64_t r1) {
        for (std::int64_t r = r0; r < r1; ++r) {
          T* row = py + r * cols;
          for (std::int64_t c = 0; c < cols; ++c) {
            T v = pb ? row[c] + pb[c] : row[c];
            row[c] = relu ? (v > T(0) || v != v ? v : T(0)) : v;
          }
        }
      });
    });
  }
  const bool has_bias = bias.defined();
  const bool need_x = requires_grad(x), need_weights = requires_grad(kernel) || requires_grad(bias);
  return record("linear", y, {x, kernel, bias}, [x, kernel, y, relu, has_bias, need_x, need_weights](const Tensor& g) {
    Tensor g_pre = relu ? kernels::relu_backward(g, y) : g;
    Tensor gx, gk, gb;
    if (need_x) gx = kernels::matmul(g_pre, kernel.transpose(0, 1));
    if (need_weights) {
      gk = kernels::matmul(x.transpose(0, 1), g_pre);
      if (has_bias) gb = kernels::reduce(kernels::ReduceOp::sum, g_pre, {0}, false);
    }
    return Grads{gx, gk, gb};
  }, {x, kernel, y});
}

}  // namespace keel::ops
