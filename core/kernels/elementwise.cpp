#include "keel/core/kernels/elementwise.h"

#include <fmt/format.h>

#include <cmath>

#include "keel/core/dispatch.h"
#include "keel/core/error.h"
#include "keel/core/kernels/detail/strided_loop.h"

namespace keel::kernels {
namespace {

using detail::for_each_row;
using detail::kElementwiseGrain;
using detail::merge_axes;

template <class T>
T stable_sigmoid(T x) {
  if (x >= 0) return T(1) / (T(1) + std::exp(-x));
  T e = std::exp(x);
  return e / (T(1) + e);
}

template <class T>
T stable_softplus(T x) {
  // log(1 + e^x) = max(x, 0) + log1p(e^-|x|)
  return std::max(x, T(0)) + std::log1p(std::exp(-std::abs(x)));
}

// out[i] = f(x[i]) over any strides.
template <class Out, class In, class F>
void map1(const Tensor& x, Tensor& out, F f) {
  auto loop = merge_axes<2>(out.shape(), {out.strides(), x.strides()});
  Out* o = out.data<Out>();
  const In* a = x.data<In>();
  for_each_row(loop, kElementwiseGrain, [&](const std::array<std::int64_t, 2>& off, std::int64_t n,
                                             const std::array<std::int64_t, 2>& st) {
    Out* op = o + off[0];
    const In* ap = a + off[1];
    if (st[0] == 1 && st[1] == 1) {
      for (std::int64_t i = 0; i < n; ++i) op[i] = f(ap[i]);
    } else {
      for (std::int64_t i = 0; i < n; ++i) op[i * st[0]] = f(ap[i * st[1]]);
    }
  });
}

// The bias-add pattern: contiguous a and out, b a vector along the last axis broadcast over all
// the others. Rows are short (a channel vector), so they are walked in one loop per task.
template <class Out, class In, class F>
bool map2_row_vector(const Tensor& a, const Tensor& b, Tensor& out, F f) {
  if (out.dim() < 2 || !out.is_contiguous() || !a.is_contiguous()) return false;
  const std::int64_t len = out.shape().back();
  // Rows too short to vectorize (a [N, H, W, 1] image times a scalar): the general walk merges the
  // axes into one long row instead.
  if (len < 8) return false;
  if (b.strides().back() != 1 && len != 1) return false;
  for (std::int64_t i = 0; i + 1 < b.dim(); ++i)
    if (b.strides()[i] != 0 && b.shape()[i] != 1) return false;
  const std::int64_t rows = out.numel() / std::max<std::int64_t>(len, 1);
  Out* o = out.data<Out>();
  const In* pa = a.data<In>();
  const In* pb = b.data<In>();
  const std::int64_t grain = std::max<std::int64_t>(1, kElementwiseGrain / std::max<std::int64_t>(len, 1));
  parallel::for_each_chunk(0, rows, grain, [&](std::int64_t, std::int64_t r0, std::int64_t r1) {
    for (std::int64_t r = r0; r < r1; ++r) {
      Out* op = o + r * len;
      const In* ap = pa + r * len;
      for (std::int64_t i = 0; i < len; ++i) op[i] = f(ap[i], pb[i]);
    }
  });
  return true;
}

// out[i] = f(a[i], b[i]) with a and b broadcast to out's shape.
template <class Out, class In, class F>
void map2(const Tensor& a, const Tensor& b, Tensor& out, F f) {
  Tensor ea = a.expand(out.shape()), eb = b.expand(out.shape());
  if (map2_row_vector<Out, In>(ea, eb, out, f)) return;
  auto loop = merge_axes<3>(out.shape(), {out.strides(), ea.strides(), eb.strides()});
  Out* o = out.data<Out>();
  const In* pa = ea.data<In>();
  const In* pb = eb.data<In>();
  for_each_row(loop, kElementwiseGrain, [&](const std::array<std::int64_t, 3>& off, std::int64_t n,
                                             const std::array<std::int64_t, 3>& st) {
    Out* op = o + off[0];
    const In* ap = pa + off[1];
    const In* bp = pb + off[2];
    if (st[0] == 1 && st[1] == 1 && st[2] == 1) {
      for (std::int64_t i = 0; i < n; ++i) op[i] = f(ap[i], bp[i]);
    } else if (st[0] == 1 && st[1] == 1 && st[2] == 0) {
      const In bv = *bp;
      for (std::int64_t i = 0; i < n; ++i) op[i] = f(ap[i], bv);
    } else if (st[0] == 1 && st[1] == 0 && st[2] == 1) {
      const In av = *ap;
      for (std::int64_t i = 0; i < n; ++i) op[i] = f(av, bp[i]);
    } else {
      for (std::int64_t i = 0; i < n; ++i) op[i * st[0]] = f(ap[i * st[1]], bp[i * st[2]]);
    }
  });
}

void require_same_float_dtype(const Tensor& a, const Tensor& b, const char* op) {
  if (a.dtype() != b.dtype())
    throw ValueError(fmt::format("{}: operands have different dtypes ({} and {})", op, dtype_name(a.dtype()),
                                 dtype_name(b.dtype())));
}

template <class T, class F>
Tensor unary_result(const Tensor& x, F f) {
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  map1<T, T>(x, out, f);
  return out;
}

}  // namespace

const char* op_name(UnaryOp op) {
  switch (op) {
    case UnaryOp::neg: return "neg";
    case UnaryOp::abs: return "abs";
    case UnaryOp::exp: return "exp";
    case UnaryOp::log: return "log";
    case UnaryOp::log1p: return "log1p";
    case UnaryOp::expm1: return "expm1";
    case UnaryOp::sqrt: return "sqrt";
    case UnaryOp::square: return "square";
    case UnaryOp::reciprocal: return "reciprocal";
    case UnaryOp::sign: return "sign";
    case UnaryOp::tanh: return "tanh";
    case UnaryOp::sigmoid: return "sigmoid";
    case UnaryOp::relu: return "relu";
    case UnaryOp::softplus: return "softplus";
    case UnaryOp::erf: return "erf";
  }
  return "unary";
}

const char* op_name(BinaryOp op) {
  switch (op) {
    case BinaryOp::add: return "add";
    case BinaryOp::sub: return "sub";
    case BinaryOp::mul: return "mul";
    case BinaryOp::div: return "div";
    case BinaryOp::pow: return "pow";
    case BinaryOp::maximum: return "maximum";
    case BinaryOp::minimum: return "minimum";
  }
  return "binary";
}

Tensor unary(UnaryOp op, const Tensor& x) {
  return keel::detail::dispatch_float(x.dtype(), op_name(op), [&](auto tag) -> Tensor {
    using T = decltype(tag);
    switch (op) {
      case UnaryOp::neg: return unary_result<T>(x, [](T v) { return -v; });
      case UnaryOp::abs: return unary_result<T>(x, [](T v) { return std::abs(v); });
      case UnaryOp::exp: return unary_result<T>(x, [](T v) { return std::exp(v); });
      case UnaryOp::log: return unary_result<T>(x, [](T v) { return std::log(v); });
      case UnaryOp::log1p: return unary_result<T>(x, [](T v) { return std::log1p(v); });
      case UnaryOp::expm1: return unary_result<T>(x, [](T v) { return std::expm1(v); });
      case UnaryOp::sqrt: return unary_result<T>(x, [](T v) { return std::sqrt(v); });
      case UnaryOp::square: return unary_result<T>(x, [](T v) { return v * v; });
      case UnaryOp::reciprocal: return unary_result<T>(x, [](T v) { return T(1) / v; });
      case UnaryOp::sign:
        return unary_result<T>(x, [](T v) { return v > 0 ? T(1) : (v < 0 ? T(-1) : v); });
      case UnaryOp::tanh: return unary_result<T>(x, [](T v) { return std::tanh(v); });
      case UnaryOp::sigmoid: return unary_result<T>(x, [](T v) { return stable_sigmoid(v); });
      // NaN > 0 is false, so written this way relu(NaN) would be 0: keep NaN explicitly.
      case UnaryOp::relu: return unary_result<T>(x, [](T v) { return v > 0 || v != v ? v : T(0); });
      case UnaryOp::softplus: return unary_result<T>(x, [](T v) { return stable_softplus(v); });
      case UnaryOp::erf: return unary_result<T>(x, [](T v) { return std::erf(v); });
    }
    throw ValueError("unary: unknown op");
  });
}

void binary_into(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out) {
  const char* name = op_name(op);
  require_same_float_dtype(a, b, name);
  Shape shape = broadcast_shapes(a.shape(), b.shape(), name);
  if (out.shape() != shape)
    throw ShapeError(fmt::format("{}: output shape {} differs from the broadcast shape {} of {} and {}", name,
                                 to_string(out.shape()), to_string(shape), to_string(a.shape()), to_string(b.shape())));
  keel::detail::dispatch_float(a.dtype(), name, [&](auto tag) {
    using T = decltype(tag);
    switch (op) {
      case BinaryOp::add: map2<T, T>(a, b, out, [](T x, T y) { return x + y; }); break;
      case BinaryOp::sub: map2<T, T>(a, b, out, [](T x, T y) { return x - y; }); break;
      case BinaryOp::mul: map2<T, T>(a, b, out, [](T x, T y) { return x * y; }); break;
      case BinaryOp::div: map2<T, T>(a, b, out, [](T x, T y) { return x / y; }); break;
      case BinaryOp::pow: map2<T, T>(a, b, out, [](T x, T y) { return std::pow(x, y); }); break;
      case BinaryOp::maximum:
        map2<T, T>(a, b, out, [](T x, T y) { return (x > y || x != x) ? x : y; });
        break;
      case BinaryOp::minimum:
        map2<T, T>(a, b, out, [](T x, T y) { return (x < y || x != x) ? x : y; });
        break;
    }
  });
  out.storage()->bump_version();
}

Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b) {
  require_same_float_dtype(a, b, op_name(op));
  Tensor out = Tensor::empty(broadcast_shapes(a.shape(), b.shape(), op_name(op)), a.dtype());
  binary_into(op, a, b, out);
  return out;
}

Tensor compare(CompareOp op, const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype())
    throw ValueError(fmt::format("compare: operands have different dtypes ({} and {})", dtype_name(a.dtype()),
                                 dtype_name(b.dtype())));
  Tensor out = Tensor::empty(broadcast_shapes(a.shape(), b.shape(), "compare"), DType::boolean);
  keel::detail::dispatch_all(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    switch (op) {
      case CompareOp::eq: map2<bool, T>(a, b, out, [](T x, T y) { return x == y; }); break;
      case CompareOp::ne: map2<bool, T>(a, b, out, [](T x, T y) { return x != y; }); break;
      case CompareOp::lt: map2<bool, T>(a, b, out, [](T x, T y) { return x < y; }); break;
      case CompareOp::le: map2<bool, T>(a, b, out, [](T x, T y) { return x <= y; }); break;
      case CompareOp::gt: map2<bool, T>(a, b, out, [](T x, T y) { return x > y; }); break;
      case CompareOp::ge: map2<bool, T>(a, b, out, [](T x, T y) { return x >= y; }); break;
    }
  });
  return out;
}

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  if (cond.dtype() != DType::boolean)
    throw ValueError(fmt::format("where: the condition must be a bool tensor, got {}", dtype_name(cond.dtype())));
  require_same_float_dtype(a, b, "where");
  Shape shape = broadcast_shapes(broadcast_shapes(cond.shape(), a.shape(), "where"), b.shape(), "where");
  Tensor out = Tensor::empty(shape, a.dtype());
  Tensor c = cond.expand(shape), ea = a.expand(shape), eb = b.expand(shape);
  keel::detail::dispatch_all(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    auto loop = merge_axes<4>(shape, {out.strides(), c.strides(), ea.strides(), eb.strides()});
    T* o = out.data<T>();
    const bool* pc = c.data<bool>();
    const T* pa = ea.data<T>();
    const T* pb = eb.data<T>();
    for_each_row(loop, kElementwiseGrain, [&](const std::array<std::int64_t, 4>& off, std::int64_t n,
                                               const std::array<std::int64_t, 4>& st) {
      for (std::int64_t i = 0; i < n; ++i)
        o[off[0] + i * st[0]] = pc[off[1] + i * st[1]] ? pa[off[2] + i * st[2]] : pb[off[3] + i * st[3]];
    });
  });
  return out;
}

Tensor clip(const Tensor& x, double lo, double hi) {
  if (std::isnan(lo) || std::isnan(hi) || lo > hi)
    throw ValueError(fmt::format("clip: bounds must satisfy lo <= hi, got lo={} hi={}", lo, hi));
  return keel::detail::dispatch_float(x.dtype(), "clip", [&](auto tag) {
    using T = decltype(tag);
    T l = static_cast<T>(lo), h = static_cast<T>(hi);
    return unary_result<T>(x, [l, h](T v) { return v < l ? l : (v > h ? h : v); });
  });
}

Tensor relu_backward(const Tensor& grad_y, const Tensor& y) {
  return keel::detail::dispatch_float(y.dtype(), "relu_backward", [&](auto tag) {
    using T = decltype(tag);
    Tensor out = Tensor::empty(y.shape(), y.dtype());
    map2<T, T>(grad_y, y, out, [](T g, T v) { return v > 0 ? g : T(0); });
    return out;
  });
}

Tensor sigmoid_backward(const Tensor& grad_y, const Tensor& y) {
  return keel::detail::dispatch_float(y.dtype(), "sigmoid_backward", [&](auto tag) {
    using T = decltype(tag);
    Tensor out = Tensor::empty(y.shape(), y.dtype());
    map2<T, T>(grad_y, y, out, [](T g, T v) { return g * v * (T(1) - v); });
    return out;
  });
}

Tensor tanh_backward(const Tensor& grad_y, const Tensor& y) {
  return keel::detail::dispatch_float(y.dtype(), "tanh_backward", [&](auto tag) {
    using T = decltype(tag);
    Tensor out = Tensor::empty(y.shape(), y.dtype());
    map2<T, T>(grad_y, y, out, [](T g, T v) { return g * (T(1) - v * v); });
    return out;
  });
}

}  // namespace keel::kernels
