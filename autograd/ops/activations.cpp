#include <cmath>
#include <numbers>

#include "keel/autograd/ops.h"
#include "keel/autograd/record.h"
#include "keel/core/kernels/elementwise.h"
#include "keel/core/kernels/softmax.h"

namespace keel::ops {

using kernels::CompareOp;
using kernels::UnaryOp;

namespace {

// Runs a last-axis kernel along any axis by moving that axis last and back.
template <class Fn>
Tensor along_axis(const Tensor& x, std::int64_t axis, Fn fn) {
  int a = normalize_axis(axis, x.dim(), "softmax");
  if (a == x.dim() - 1) return fn(x);
  return transpose(fn(transpose(x, a, -1)), a, -1);
}

}  // namespace

Tensor relu(const Tensor& x) {
  Tensor y = kernels::unary(UnaryOp::relu, x);
  return record("relu", y, {x}, [y](const Tensor& g) { return Grads{kernels::relu_backward(g, y)}; }, {y});
}

Tensor relu6(const Tensor& x) {
  return record("relu6", kernels::clip(x, 0.0, 6.0), {x}, [x](const Tensor& g) {
    Tensor inside = kernels::binary(kernels::BinaryOp::mul,
                                    kernels::compare(CompareOp::gt, x, scalar_like(x, 0)).to(x.dtype()),
                                    kernels::compare(CompareOp::lt, x, scalar_like(x, 6)).to(x.dtype()));
    return Grads{g * inside};
  }, {x});
}

Tensor leaky_relu(const Tensor& x, double negative_slope) {
  return where(greater(x, scalar_like(x, 0)), x, x * negative_slope);
}

Tensor elu(const Tensor& x, double alpha) {
  // exp of min(x, 0) keeps the unselected branch finite, so its zero gradient stays zero.
  return where(greater(x, scalar_like(x, 0)), x, (exp(minimum(x, scalar_like(x, 0))) - 1.0) * alpha);
}

Tensor selu(const Tensor& x) {
  constexpr double kAlpha = 1.67326324, kScale = 1.05070098;
  return elu(x, kAlpha) * kScale;
}

Tensor gelu(const Tensor& x) { return x * 0.5 * (erf(x * (1.0 / std::numbers::sqrt2)) + 1.0); }

Tensor sigmoid(const Tensor& x) {
  Tensor y = kernels::unary(UnaryOp::sigmoid, x);
  return record("sigmoid", y, {x}, [y](const Tensor& g) { return Grads{kernels::sigmoid_backward(g, y)}; }, {y});
}

Tensor hard_sigmoid(const Tensor& x) { return relu6(x + 3.0) / 6.0; }

Tensor tanh(const Tensor& x) {
  Tensor y = kernels::unary(UnaryOp::tanh, x);
  return record("tanh", y, {x}, [y](const Tensor& g) { return Grads{kernels::tanh_backward(g, y)}; }, {y});
}

Tensor softplus(const Tensor& x) {
  return record("softplus", kernels::unary(UnaryOp::softplus, x), {x},
                [x](const Tensor& g) { return Grads{g * kernels::unary(UnaryOp::sigmoid, x)}; }, {x});
}

Tensor softsign(const Tensor& x) { return x / (abs(x) + 1.0); }

Tensor swish(const Tensor& x) { return x * sigmoid(x); }

Tensor softmax(const Tensor& x, std::int64_t axis) {
  return along_axis(x, axis, [](const Tensor& v) {
    Tensor y = kernels::softmax(v);
    return record("softmax", y, {v}, [y](const Tensor& g) { return Grads{kernels::softmax_backward(g, y)}; }, {y});
  });
}

Tensor log_softmax(const Tensor& x, std::int64_t axis) {
  return along_axis(x, axis, [](const Tensor& v) {
    Tensor y = kernels::log_softmax(v);
    return record("log_softmax", y, {v},
                  [y](const Tensor& g) { return Grads{kernels::log_softmax_backward(g, y)}; }, {y});
  });
}

}  // namespace keel::ops
