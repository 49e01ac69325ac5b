#include <fmt/format.h>

#include <cmath>
#include <numbers>

#include "keel/autograd/ops.h"
#include "keel/autograd/record.h"
#include "keel/core/error.h"
#include "keel/core/kernels/bfloat16.h"
#include "keel/core/kernels/elementwise.h"

namespace keel {
namespace ops {

using kernels::BinaryOp;
using kernels::CompareOp;
using kernels::UnaryOp;

Tensor scalar_like(const Tensor& x, double value) { return Tensor::scalar(value, x.dtype()); }

Tensor add(const Tensor& a, const Tensor& b) {
  return record("add", kernels::binary(BinaryOp::add, a, b), {a, b}, [](const Tensor& g) { return Grads{g, g}; });
}

Tensor sub(const Tensor& a, const Tensor& b) {
  return record("sub", kernels::binary(BinaryOp::sub, a, b), {a, b}, [](const Tensor& g) { return Grads{g, neg(g)}; });
}

Tensor mul(const Tensor& a, const Tensor& b) {
  return record("mul", kernels::binary(BinaryOp::mul, a, b), {a, b},
                [a, b](const Tensor& g) { return Grads{g * b, g * a}; }, {a, b});
}

Tensor div(const Tensor& a, const Tensor& b) {
  return record("div", kernels::binary(BinaryOp::div, a, b), {a, b},
                [a, b](const Tensor& g) { return Grads{g / b, neg(g * a / (b * b))}; }, {a, b});
}

Tensor pow(const Tensor& a, double exponent) {
  Tensor y = kernels::binary(BinaryOp::pow, a, scalar_like(a, exponent));
  return record("pow", y, {a},
                [a, exponent](const Tensor& g) { return Grads{g * exponent * pow(a, exponent - 1)}; }, {a});
}

Tensor maximum(const Tensor& a, const Tensor& b) {
  Tensor y = kernels::binary(BinaryOp::maximum, a, b);
  return record("maximum", y, {a, b}, [a, b](const Tensor& g) {
    Tensor take_a = kernels::compare(CompareOp::ge, a, b), zero = scalar_like(g, 0);
    return Grads{where(take_a, g, zero), where(take_a, zero, g)};
  }, {a, b});
}

Tensor minimum(const Tensor& a, const Tensor& b) {
  Tensor y = kernels::binary(BinaryOp::minimum, a, b);
  return record("minimum", y, {a, b}, [a, b](const Tensor& g) {
    Tensor take_a = kernels::compare(CompareOp::le, a, b), zero = scalar_like(g, 0);
    return Grads{where(take_a, g, zero), where(take_a, zero, g)};
  }, {a, b});
}

Tensor neg(const Tensor& x) {
  return record("neg", kernels::unary(UnaryOp::neg, x), {x},
                [](const Tensor& g) { return Grads{kernels::unary(UnaryOp::neg, g)}; });
}

Tensor abs(const Tensor& x) {
  return record("abs", kernels::unary(UnaryOp::abs, x), {x},
                [x](const Tensor& g) { return Grads{g * kernels::unary(UnaryOp::sign, x)}; }, {x});
}

Tensor exp(const Tensor& x) {
  Tensor y = kernels::unary(UnaryOp::exp, x);
  return record("exp", y, {x}, [y](const Tensor& g) { return Grads{g * y}; }, {y});
}

Tensor log(const Tensor& x) {
  return record("log", kernels::unary(UnaryOp::log, x), {x}, [x](const Tensor& g) { return Grads{g / x}; }, {x});
}

Tensor log1p(const Tensor& x) {
  return record("log1p", kernels::unary(UnaryOp::log1p, x), {x},
                [x](const Tensor& g) { return Grads{g / (x + 1.0)}; }, {x});
}

Tensor sqrt(const Tensor& x) {
  Tensor y = kernels::unary(UnaryOp::sqrt, x);
  return record("sqrt", y, {x}, [y](const Tensor& g) { return Grads{g / (y * 2.0)}; }, {y});
}

Tensor square(const Tensor& x) {
  return record("square", kernels::unary(UnaryOp::square, x), {x},
                [x](const Tensor& g) { return Grads{g * x * 2.0}; }, {x});
}

Tensor erf(const Tensor& x) {
  return record("erf", kernels::unary(UnaryOp::erf, x), {x}, [x](const Tensor& g) {
    return Grads{g * exp(neg(square(x))) * (2.0 / std::sqrt(std::numbers::pi))};
  }, {x});
}

Tensor clip(const Tensor& x, double lo, double hi) {
  return record("clip", kernels::clip(x, lo, hi), {x}, [x, lo, hi](const Tensor& g) {
    Tensor inside = kernels::binary(BinaryOp::mul, kernels::compare(CompareOp::ge, x, scalar_like(x, lo)).to(x.dtype()),
                                    kernels::compare(CompareOp::le, x, scalar_like(x, hi)).to(x.dtype()));
    return Grads{g * inside};
  }, {x});
}

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  return record("where", kernels::where(cond, a, b), {a, b}, [cond](const Tensor& g) {
    Tensor zero = scalar_like(g, 0);
    return Grads{kernels::where(cond, g, zero), kernels::where(cond, zero, g)};
  });
}

Tensor cast(const Tensor& x, DType dtype) {
  DType from = x.dtype();
  Tensor y = x.dtype() == dtype ? x : x.to(dtype);
  if (!is_floating(dtype) || !is_floating(from)) return y;
  return record("cast", y, {x}, [from](const Tensor& g) { return Grads{g.to(from)}; });
}

namespace {

Tensor bfloat16_rounded(const Tensor& x) {
  if (x.dtype() != DType::float32)
    throw ValueError(fmt::format("round_to_bfloat16: expected a float32 tensor, got {}", dtype_name(x.dtype())));
  const Tensor source = x.contiguous();
  Tensor y = Tensor::empty(x.shape(), DType::float32);
  kernels::round_to_bfloat16(source.data<float>(), y.data<float>(), y.numel());
  return y;
}

}  // namespace

Tensor round_to_bfloat16(const Tensor& x) {
  return record("round_to_bfloat16", bfloat16_rounded(x), {x},
                [](const Tensor& g) { return Grads{bfloat16_rounded(g)}; });
}

Tensor equal(const Tensor& a, const Tensor& b) { return kernels::compare(CompareOp::eq, a, b); }
Tensor greater(const Tensor& a, const Tensor& b) { return kernels::compare(CompareOp::gt, a, b); }
Tensor greater_equal(const Tensor& a, const Tensor& b) { return kernels::compare(CompareOp::ge, a, b); }
Tensor less(const Tensor& a, const Tensor& b) { return kernels::compare(CompareOp::lt, a, b); }
Tensor less_equal(const Tensor& a, const Tensor& b) { return kernels::compare(CompareOp::le, a, b); }

}  // namespace ops

Tensor operator+(const Tensor& a, const Tensor& b) { return ops::add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return ops::sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return ops::mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return ops::div(a, b); }
Tensor operator-(const Tensor& x) { return ops::neg(x); }
Tensor operator+(const Tensor& a, double b) { return ops::add(a, ops::scalar_like(a, b)); }
Tensor operator-(const Tensor& a, double b) { return ops::sub(a, ops::scalar_like(a, b)); }
Tensor operator*(const Tensor& a, double b) { return ops::mul(a, ops::scalar_like(a, b)); }
Tensor operator/(const Tensor& a, double b) { return ops::div(a, ops::scalar_like(a, b)); }
Tensor operator+(double a, const Tensor& b) { return ops::add(ops::scalar_like(b, a), b); }
Tensor operator-(double a, const Tensor& b) { return ops::sub(ops::scalar_like(b, a), b); }
Tensor operator*(double a, const Tensor& b) { return ops::mul(ops::scalar_like(b, a), b); }
Tensor operator/(double a, const Tensor& b) { return ops::div(ops::scalar_like(b, a), b); }

}  // namespace keel
