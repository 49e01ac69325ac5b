#include "keel/core/kernels/softmax.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>

#include "keel/core/dispatch.h"
#include "keel/core/error.h"
#include "keel/core/parallel.h"

namespace keel::kernels {
namespace {

constexpr std::int64_t kRowsGrain = 8192;

// Calls fn(in_row, out_row, len) for every row of the last axis of a contiguous x.
template <class T, class Fn>
Tensor map_rows(const Tensor& x, const char* op, Fn fn) {
  if (x.dim() < 1) throw ShapeError(fmt::format("{}: needs rank >= 1, got a scalar", op));
  Tensor in = x.contiguous();
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  const std::int64_t len = x.shape().back();
  if (len == 0 || x.numel() == 0) return out;
  const std::int64_t rows = x.numel() / len;
  const T* src = in.data<T>();
  T* dst = out.data<T>();
  parallel::for_each_chunk(0, rows, std::max<std::int64_t>(1, kRowsGrain / len), [&](std::int64_t, std::int64_t r0, std::int64_t r1) {
    for (std::int64_t r = r0; r < r1; ++r) fn(src + r * len, dst + r * len, len);
  });
  return out;
}

template <class T>
T row_max(const T* x, std::int64_t n) {
  T m = -std::numeric_limits<T>::infinity();
  for (std::int64_t i = 0; i < n; ++i) m = (x[i] > m || x[i] != x[i]) ? x[i] : m;
  return m;
}

template <class T, class Fn>
Tensor map_rows2(const Tensor& g, const Tensor& y, const char* op, Fn fn) {
  if (g.shape() != y.shape())
    throw ShapeError(fmt::format("{}: gradient shape {} differs from output shape {}", op, to_string(g.shape()),
                                 to_string(y.shape())));
  Tensor gc = g.contiguous(), yc = y.contiguous();
  Tensor out = Tensor::empty(y.shape(), y.dtype());
  const std::int64_t len = y.dim() ? y.shape().back() : 1;
  if (len == 0 || y.numel() == 0) return out;
  const std::int64_t rows = y.numel() / len;
  const T* gp = gc.data<T>();
  const T* yp = yc.data<T>();
  T* op_ = out.data<T>();
  parallel::for_each_chunk(0, rows, std::max<std::int64_t>(1, kRowsGrain / len), [&](std::int64_t, std::int64_t r0, std::int64_t r1) {
    for (std::int64_t r = r0; r < r1; ++r) fn(gp + r * len, yp + r * len, op_ + r * len, len);
  });
  return out;
}

}  // namespace

Tensor softmax(const Tensor& x) {
  return keel::detail::dispatch_float(x.dtype(), "softmax", [&](auto tag) {
    using T = decltype(tag);
    return map_rows<T>(x, "softmax", [](const T* in, T* out, std::int64_t n) {
      T m = row_max(in, n);
      double sum = 0;
      for (std::int64_t i = 0; i < n; ++i) {
        out[i] = std::exp(in[i] - m);
        sum += out[i];
      }
      T inv = static_cast<T>(1.0 / sum);
      for (std::int64_t i = 0; i < n; ++i) out[i] *= inv;
    });
  });
}

Tensor log_softmax(const Tensor& x) {
  return keel::detail::dispatch_float(x.dtype(), "log_softmax", [&](auto tag) {
    using T = decltype(tag);
    return map_rows<T>(x, "log_softmax", [](const T* in, T* out, std::int64_t n) {
      T m = row_max(in, n);
      double sum = 0;
      for (std::int64_t i = 0; i < n; ++i) sum += std::exp(static_cast<double>(in[i] - m));
      T lse = m + static_cast<T>(std::log(sum));
      for (std::int64_t i = 0; i < n; ++i) out[i] = in[i] - lse;
    });
  });
}

Tensor softmax_backward(const Tensor& grad_y, const Tensor& y) {
  return keel::detail::dispatch_float(y.dtype(), "softmax_backward", [&](auto tag) {
    using T = decltype(tag);
    return map_rows2<T>(grad_y, y, "softmax_backward", [](const T* g, const T* yv, T* out, std::int64_t n) {
      double dot = 0;
      for (std::int64_t i = 0; i < n; ++i) dot += static_cast<double>(g[i]) * yv[i];
      for (std::int64_t i = 0; i < n; ++i) out[i] = yv[i] * (g[i] - static_cast<T>(dot));
    });
  });
}

Tensor log_softmax_backward(const Tensor& grad_y, const Tensor& y) {
  return keel::detail::dispatch_float(y.dtype(), "log_softmax_backward", [&](auto tag) {
    using T = decltype(tag);
    return map_rows2<T>(grad_y, y, "log_softmax_backward", [](const T* g, const T* yv, T* out, std::int64_t n) {
      double sum = 0;
      for (std::int64_t i = 0; i < n; ++i) sum += g[i];
      for (std::int64_t i = 0; i < n; ++i) out[i] = g[i] - std::exp(yv[i]) * static_cast<T>(sum);
    });
  });
}

}  // namespace keel::kernels
