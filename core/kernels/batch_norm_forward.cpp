// Forward passes: every one is y = (x - hi)·scale + shift per channel (see AffineParams), one read of x
// and one write of y.
#include <cmath>
#include <type_traits>
#include <vector>

#include "keel/core/kernels/batch_norm.h"
#include "keel/core/kernels/detail/dispatch_flags.h"
#include "keel/core/kernels/detail/batch_norm_columns.h"
#include "keel/core/kernels/detail/batch_norm_partition.h"
#include "keel/core/kernels/simd.h"

namespace keel::kernels {
namespace {

using bn_detail::AffineParams;
using bn_detail::Partition;
using bn_detail::value_or;

template <class T>
void affine_run(const T* __restrict x, const T* __restrict hi, const T* __restrict scale, const T* __restrict shift,
                std::int64_t n, T* __restrict y) {
  for (std::int64_t i = 0; i < n; ++i) y[i] = std::fma(x[i] - hi[i], scale[i], shift[i]);
}

template <class T>
void affine_run(const T* __restrict x, T hi, T scale, T shift, std::int64_t n, T* __restrict y) {
  for (std::int64_t i = 0; i < n; ++i) y[i] = std::fma(x[i] - hi, scale, shift);
}

// A pass that moves 16 MiB or more (x in, y out) writes y with streaming stores (simd.h's kStreamBytes)
// where the tile walk keeps every vector aligned: inference on large batches, not a training step's
// smaller tensors.
template <class T>
void affine_pass(const Partition& p, const T* x, const AffineParams<T>& a, T* y) {
  if (bn_detail::registers_hold_tile<T>(p)) {
    const T* const params[3] = {a.hi.data(), a.scale.data(), a.shift.data()};
    const std::int64_t values = p.layout.outer * p.layout.channels * p.layout.inner;
    auto rows = [&](auto streamed) {
      constexpr bool S = decltype(streamed)::value;
      bn_detail::map_rows<T, S>(p, params, [&](std::int64_t off, const auto* q) {
        using V = std::remove_cvref_t<decltype(q[0])>;
        store_output<S>(y + off, (load_as<V>(x + off) - q[0]) * q[1] + q[2]);
      });
    };
    detail::dispatch_flags(rows, streams_pass(2 * values, y));
    return;
  }
  bn_detail::for_each_run(p, [&](std::int64_t off, std::int64_t n, std::int64_t k, bool per_column) {
    if (per_column)
      affine_run(x + off, a.hi.data() + k, a.scale.data() + k, a.shift.data() + k, n, y + off);
    else
      affine_run(x + off, a.hi[k], a.scale[k], a.shift[k], n, y + off);
  });
}

}  // namespace

template <class T>
void batch_norm_normalize(const ChannelLayout& layout, const T* x, const double* mean, const double* invstd,
                          const T* gamma, const T* beta, const double* r, const double* d, T* y) {
  Partition p = bn_detail::make_partition("batch_norm_normalize", layout, sizeof(T));
  if (p.items == 0) return;
  std::vector<double> scale(static_cast<std::size_t>(layout.channels)), shift(scale.size());
  for (std::int64_t c = 0; c < layout.channels; ++c) {
    double g = value_or(gamma, c, 1.0);
    scale[c] = invstd[c] * value_or(r, c, 1.0) * g;
    shift[c] = value_or(d, c, 0.0) * g + value_or(beta, c, 0.0);
  }
  affine_pass(p, x, bn_detail::affine_params<T>(p, mean, scale, shift), y);
}

template <class T>
void batch_norm_forward_training(const ChannelLayout& layout, const T* x, const T* gamma, const T* beta, double eps,
                                 T* y, double* mean, double* var, double* invstd) {
  bn_detail::check_eps("batch_norm_forward_training", eps);
  batch_norm_moments(layout, x, mean, var);
  batch_norm_invstd(layout.channels, var, eps, invstd);
  batch_norm_normalize<T>(layout, x, mean, invstd, gamma, beta, nullptr, nullptr, y);
}

template <class T>
void batch_norm_inference(const ChannelLayout& layout, const T* x, const T* gamma, const T* beta, const T* moving_mean,
                          const T* moving_var, double eps, T* y) {
  bn_detail::check_eps("batch_norm_inference", eps);
  Partition p = bn_detail::make_partition("batch_norm_inference", layout, sizeof(T));
  if (p.items == 0) return;
  std::vector<double> scale, shift;
  bn_detail::inference_scale_shift(layout.channels, gamma, beta, moving_var, eps, scale, shift);
  affine_pass(p, x, bn_detail::affine_params<T>(p, moving_mean, scale, shift), y);
}

#define KEEL_BN_FORWARD(T)                                                                                        \
  template void batch_norm_normalize<T>(const ChannelLayout&, const T*, const double*, const double*, const T*,   \
                                        const T*, const double*, const double*, T*);                              \
  template void batch_norm_forward_training<T>(const ChannelLayout&, const T*, const T*, const T*, double, T*,    \
                                               double*, double*, double*);                                        \
  template void batch_norm_inference<T>(const ChannelLayout&, const T*, const T*, const T*, const T*, const T*,   \
                                        double, T*);
KEEL_BN_FORWARD(float)
KEEL_BN_FORWARD(double)
#undef KEEL_BN_FORWARD

}  // namespace keel::kernels
