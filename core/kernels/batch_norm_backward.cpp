// Backward of training-mode BN in two passes over (dy, x): a blocked reduction of Σdy and Σdy·(x - mean),
// then grad_x = A·dy + B·(x - mean) + K per channel. x̂ is recomputed, never stored.
#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#include "keel/core/kernels/batch_norm.h"
#include "keel/core/kernels/detail/batch_norm_columns.h"
#include "keel/core/kernels/detail/batch_norm_partition.h"
#include "keel/core/kernels/lane_sum.h"

namespace keel::kernels {
namespace {

using bn_detail::Partition;
using bn_detail::value_or;

// Column walk, one work item: per-column Σdy and Σdy·(x - hi) of its rectangle, added per block in T
// (per fold slot) and across blocks in double, written at the item's columns of sdy/sdx.
template <class T>
void column_item_sums(const Partition& p, const T* dy, const T* x, const T* hi, const bn_detail::Rect& r,
                      double* sdy, double* sdx) {
  constexpr std::int64_t kMax = bn_detail::kTileBytes / sizeof(float);
  const std::int64_t n = r.j1 - r.j0, slots = p.fold * n;
  T ady[kMax], adx[kMax];
  double bdy[kMax], bdx[kMax];
  sdy += r.j0;
  sdx += r.j0;
  hi += r.j0;
  std::fill(sdy, sdy + n, 0.0);
  std::fill(sdx, sdx + n, 0.0);
  for (std::int64_t b0 = r.r0; b0 < r.r1; b0 += p.block_rows) {
    const std::int64_t b1 = std::min(r.r1, b0 + p.block_rows);
    std::fill(ady, ady + slots, T(0));
    std::fill(adx, adx + slots, T(0));
    bn_detail::accumulate_rows<T, 2>(
        p, r, b0, b1,
        [&](std::int64_t off, std::int64_t s, auto& a, auto& b) {
          using U = std::remove_cvref_t<decltype(a)>;
          U g = load_as<U>(dy + off);
          a += g;
          b += g * (load_as<U>(x + off) - load_as<U>(hi + s));
        },
        ady, adx);
    bn_detail::fold_slots(p, n, ady, bdy);
    bn_detail::fold_slots(p, n, adx, bdx);
    for (std::int64_t j = 0; j < n; ++j) {
      sdy[j] += bdy[j];
      sdx[j] += bdx[j];
    }
  }
}

template <class T>
void grad_x_run(const T* __restrict dy, const T* __restrict x, const T* __restrict a, const T* __restrict hi,
                const T* __restrict b, const T* __restrict k, std::int64_t n, T* __restrict out) {
  for (std::int64_t i = 0; i < n; ++i) out[i] = std::fma(dy[i], a[i], std::fma(x[i] - hi[i], b[i], k[i]));
}

template <class T>
void grad_x_run(const T* __restrict dy, const T* __restrict x, T a, T hi, T b, T k, std::int64_t n,
                T* __restrict out) {
  for (std::int64_t i = 0; i < n; ++i) out[i] = std::fma(dy[i], a, std::fma(x[i] - hi, b, k));
}

// Per-channel Σdy and Σdy·(x - hi), in the walk's fixed order.
template <class T>
void raw_sums(const Partition& p, const T* dy, const T* x, const std::vector<T>& hi, double* sum_dy, double* sum_dx) {
  const std::int64_t channels = p.layout.channels, inner = p.layout.inner;
  if (p.planes) {
    std::vector<double> pdy(static_cast<std::size_t>(p.plane_count)), pdx(pdy.size());
    bn_detail::for_each_item(p, [&](std::int64_t item) {
      std::int64_t q0 = item * p.chunk_planes, q1 = std::min(p.plane_count, q0 + p.chunk_planes);
      for (std::int64_t q = q0; q < q1; ++q) {
        double a = 0, b = 0;
        for (std::int64_t s0 = 0; s0 < inner; s0 += p.segment) {
          const T* g = dy + q * inner + s0;
          const T* xs = x + q * inner + s0;
          const T h = hi[q % channels];
          T sa, sb;
          lane_sum_pair<T>(
              std::min(p.segment, inner - s0),
              [&](std::int64_t i, auto& u, auto& v) {
                using U = std::remove_cvref_t<decltype(u)>;
                U gi = load_as<U>(g + i);
                u += gi;
                v += gi * (load_as<U>(xs + i) - h);
              },
              sa, sb);
          a += static_cast<double>(sa);
          b += static_cast<double>(sb);
        }
        pdy[q] = a;
        pdx[q] = b;
      }
    });
    for (std::int64_t c = 0; c < channels; ++c) {
      double a = 0, b = 0;
      for (std::int64_t o = 0; o < p.layout.outer; ++o) {
        a += pdy[o * channels + c];
        b += pdx[o * channels + c];
      }
      sum_dy[c] = a;
      sum_dx[c] = b;
    }
    return;
  }
  const std::int64_t w = p.width;
  std::vector<double> pdy(static_cast<std::size_t>(p.row_chunks * w)), pdx(pdy.size());
  bn_detail::for_each_item(p, [&](std::int64_t item) {
    std::int64_t rc = item / p.col_tiles;
    column_item_sums(p, dy, x, hi.data(), bn_detail::rect_of(p, item), pdy.data() + rc * w, pdx.data() + rc * w);
  });
  for (std::int64_t rc = 1; rc < p.row_chunks; ++rc)
    for (std::int64_t j = 0; j < w; ++j) {
      pdy[j] += pdy[rc * w + j];
      pdx[j] += pdx[rc * w + j];
    }
  for (std::int64_t c = 0; c < channels; ++c) {
    double a = 0, b = 0;
    for (std::int64_t i = 0; i < inner; ++i) {
      a += pdy[c * inner + i];
      b += pdx[c * inner + i];
    }
    sum_dy[c] = a;
    sum_dx[c] = b;
  }
}

}  // namespace

template <class T>
void batch_norm_backward_reduce(const ChannelLayout& layout, const T* grad_y, const T* x, const double* mean,
                                const double* invstd, double* sum_dy, double* sum_dy_xhat) {
  Partition p = bn_detail::make_partition("batch_norm_backward_reduce", layout, sizeof(T));
  if (p.items == 0) {
    std::fill(sum_dy, sum_dy + layout.channels, 0.0);
    std::fill(sum_dy_xhat, sum_dy_xhat + layout.channels, 0.0);
    return;
  }
  // Σdy·(x - mean) = Σdy·(x - hi) - lo·Σdy with mean = hi + lo.
  std::vector<double> ones(static_cast<std::size_t>(layout.channels), 1.0), zeros(ones.size(), 0.0);
  auto params = bn_detail::affine_params<T>(p, mean, ones, zeros);
  raw_sums(p, grad_y, x, params.hi, sum_dy, sum_dy_xhat);
  for (std::int64_t c = 0; c < layout.channels; ++c) {
    double lo = mean[c] - static_cast<double>(static_cast<T>(mean[c]));
    sum_dy_xhat[c] = invstd[c] * (sum_dy_xhat[c] - lo * sum_dy[c]);
  }
}

template <class T>
void batch_norm_backward_apply(const ChannelLayout& layout, const T* grad_y, const T* x, const double* mean,
                               const double* invstd, const T* gamma, const double* r, const double* sum_dy,
                               const double* sum_dy_xhat, double count, T* grad_x) {
  Partition p = bn_detail::make_partition("batch_norm_backward_apply", layout, sizeof(T));
  if (p.items == 0) return;
  // grad_x = A·dy + B·(x - mean) + K with A = gamma·r·invstd, B = -A·invstd·Σdy·x̂/N, K = -A·Σdy/N.
  const std::size_t channels = static_cast<std::size_t>(layout.channels);
  std::vector<double> a(channels), b(channels), k(channels);
  for (std::int64_t c = 0; c < layout.channels; ++c) {
    a[c] = value_or(gamma, c, 1.0) * value_or(r, c, 1.0) * invstd[c];
    b[c] = count > 0 ? -a[c] * invstd[c] * sum_dy_xhat[c] / count : 0.0;
    k[c] = count > 0 ? -a[c] * sum_dy[c] / count : 0.0;
  }
  auto params = bn_detail::affine_params<T>(p, mean, b, k);
  std::vector<T> pa = bn_detail::per_param<T>(p, a);
  if (bn_detail::registers_hold_tile<T>(p)) {
    const T* const q[4] = {pa.data(), params.hi.data(), params.scale.data(), params.shift.data()};
    bn_detail::map_rows<T>(p, q, [&](std::int64_t off, const auto* v) {
      using V = std::remove_cvref_t<decltype(v[0])>;
      store_as(grad_x + off, load_as<V>(grad_y + off) * v[0] + ((load_as<V>(x + off) - v[1]) * v[2] + v[3]));
    });
    return;
  }
  bn_detail::for_each_run(p, [&](std::int64_t off, std::int64_t n, std::int64_t q, bool per_column) {
    if (per_column)
      grad_x_run(grad_y + off, x + off, pa.data() + q, params.hi.data() + q, params.scale.data() + q,
                 params.shift.data() + q, n, grad_x + off);
    else
      grad_x_run(grad_y + off, x + off, pa[q], params.hi[q], params.scale[q], params.shift[q], n, grad_x + off);
  });
}

template <class T>
void batch_norm_param_grads(std::int64_t channels, const double* sum_dy, const double* sum_dy_xhat, const double* r,
                            const double* d, T* grad_gamma, T* grad_beta) {
  for (std::int64_t c = 0; c < channels; ++c) {
    if (grad_gamma)
      grad_gamma[c] = static_cast<T>(value_or(r, c, 1.0) * sum_dy_xhat[c] + value_or(d, c, 0.0) * sum_dy[c]);
    if (grad_beta) grad_beta[c] = static_cast<T>(sum_dy[c]);
  }
}

template <class T>
void batch_norm_backward(const ChannelLayout& layout, const T* grad_y, const T* x, const double* mean,
                         const double* invstd, const T* gamma, const double* r, const double* d, T* grad_x,
                         T* grad_gamma, T* grad_beta) {
  std::vector<double> sum_dy(static_cast<std::size_t>(std::max<std::int64_t>(layout.channels, 0))),
      sum_dy_xhat(sum_dy.size());
  batch_norm_backward_reduce(layout, grad_y, x, mean, invstd, sum_dy.data(), sum_dy_xhat.data());
  batch_norm_backward_apply(layout, grad_y, x, mean, invstd, gamma, r, sum_dy.data(), sum_dy_xhat.data(),
                            static_cast<double>(layout.outer * layout.inner), grad_x);
  batch_norm_param_grads(layout.channels, sum_dy.data(), sum_dy_xhat.data(), r, d, grad_gamma, grad_beta);
}

#define KEEL_BN_BACKWARD(T)                                                                                        \
  template void batch_norm_backward_reduce<T>(const ChannelLayout&, const T*, const T*, const double*,           \
                                              const double*, double*, double*);                                  \
  template void batch_norm_backward_apply<T>(const ChannelLayout&, const T*, const T*, const double*,            \
                                             const double*, const T*, const double*, const double*,              \
                                             const double*, double, T*);                                         \
  template void batch_norm_param_grads<T>(std::int64_t, const double*, const double*, const double*,             \
                                          const double*, T*, T*);                                                 \
  template void batch_norm_backward<T>(const ChannelLayout&, const T*, const T*, const double*, const double*,   \
                                       const T*, const double*, const double*, T*, T*, T*);
KEEL_BN_BACKWARD(float)
KEEL_BN_BACKWARD(double)
#undef KEEL_BN_BACKWARD

}  // namespace keel::kernels
