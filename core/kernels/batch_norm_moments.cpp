// Per-channel moments: one pass of shifted sums Σ(x - shift), Σ(x - shift)² in T over cache-sized blocks
// (the shift sits inside the data, so an offset costs no precision), each block's moments taken in
// double and merged by Chan's formula in a fixed order.
#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#include "keel/core/kernels/batch_norm.h"
#include "keel/core/kernels/detail/batch_norm_columns.h"
#include "keel/core/kernels/detail/batch_norm_partition.h"
#include "keel/core/kernels/lane_sum.h"
#include "keel/core/moments.h"

namespace keel::kernels {

void batch_norm_invstd(std::int64_t channels, const double* var, double eps, double* invstd) {
  bn_detail::check_eps("batch_norm_invstd", eps);
  for (std::int64_t c = 0; c < channels; ++c) {
    double s = std::sqrt(var[c] + eps);
    invstd[c] = s == 0 ? 0.0 : 1.0 / s;
  }
}

namespace {

using bn_detail::Partition;

// Merges a group of nb values with per-column means bmean and M2 bm2 into running (na, mean, m2).
void merge_columns(std::int64_t n, double na, double nb, double* mean, double* m2, const double* bmean,
                   const double* bm2) {
  double total = na + nb, f = nb / total, g = na * nb / total;
  for (std::int64_t j = 0; j < n; ++j) {
    double delta = bmean[j] - mean[j];
    mean[j] += delta * f;
    m2[j] += bm2[j] + delta * delta * g;
  }
}

// Moments of nb values from their sums s1 = Σ(x - shift) and s2 = Σ(x - shift)². The shift is close to
// the values' mean (a running mean, or the mean of a small sample, rounded to T), so s2 - s1²/nb cancels
// little, even at large offsets; a single value as the shift could sit several deviations away.
inline constexpr std::int64_t kShiftSample = 8;

inline void shifted_moments(double nb, double shift, double s1, double s2, double& mean, double& m2) {
  mean = shift + s1 / nb;
  m2 = std::max(0.0, s2 - s1 * (s1 / nb));
}

// Column walk, one work item: per-column moments of its rectangle, written to mean/m2 at the item's
// columns. Each block is one pass in T of shifted sums per fold slot (the shift is the mean of the first
// block's first rows, then the running mean), folded into double and merged into
// the running double moments by Chan's formula.
template <class T>
void column_item_moments(const Partition& p, const T* x, const bn_detail::Rect& r, double* mean, double* m2) {
  constexpr std::int64_t kMax = bn_detail::kTileBytes / sizeof(float);
  const std::int64_t n = r.j1 - r.j0, slots = p.fold * n;
  T shift[kMax], acc1[kMax], acc2[kMax];
  double s1[kMax], s2[kMax], bmean[kMax], bm2[kMax];
  mean += r.j0;
  m2 += r.j0;
  std::fill(mean, mean + n, 0.0);
  std::fill(m2, m2 + n, 0.0);
  double count = 0;
  for (std::int64_t b0 = r.r0; b0 < r.r1; b0 += p.block_rows) {
    const std::int64_t b1 = std::min(r.r1, b0 + p.block_rows);
    const double nb = static_cast<double>(b1 - b0);
    if (count == 0) {
      const std::int64_t k = std::min(kShiftSample, b1 - b0);
      for (std::int64_t j = 0; j < n; ++j) {
        double sum = 0;
        for (std::int64_t row = b0; row < b0 + k; ++row) sum += static_cast<double>(x[row * p.width + r.j0 + j]);
        shift[j] = static_cast<T>(sum / static_cast<double>(k));
      }
    } else {
      for (std::int64_t j = 0; j < n; ++j) shift[j] = static_cast<T>(mean[j]);
    }
    bn_detail::repeat_slots(p, n, shift, shift);
    std::fill(acc1, acc1 + slots, T(0));
    std::fill(acc2, acc2 + slots, T(0));
    bn_detail::accumulate_rows<T, 2>(
        p, r, b0, b1,
        [&](std::int64_t off, std::int64_t s, auto& a, auto& b) {
          using U = std::remove_cvref_t<decltype(a)>;
          U e = load_as<U>(x + off) - load_as<U>(shift + s);
          a += e;
          b += e * e;
        },
        acc1, acc2);
    bn_detail::fold_slots(p, n, acc1, s1);
    bn_detail::fold_slots(p, n, acc2, s2);
    for (std::int64_t j = 0; j < n; ++j) shifted_moments(nb, static_cast<double>(shift[j]), s1[j], s2[j], bmean[j], bm2[j]);
    merge_columns(n, count, nb, mean, m2, bmean, bm2);
    count += nb;
  }
}

template <class T>
void column_moments(const Partition& p, const T* x, double* mean, double* var) {
  const std::int64_t w = p.width;
  std::vector<double> pmean(static_cast<std::size_t>(p.row_chunks * w)), pm2(pmean.size());
  bn_detail::for_each_item(p, [&](std::int64_t item) {
    bn_detail::Rect r = bn_detail::rect_of(p, item);
    std::int64_t rc = item / p.col_tiles;
    column_item_moments(p, x, r, pmean.data() + rc * w, pm2.data() + rc * w);
  });
  // Row chunks in order into chunk 0, then a channel's inner columns in order.
  double count = static_cast<double>(std::min(p.layout.outer, p.chunk_rows));
  for (std::int64_t rc = 1; rc < p.row_chunks; ++rc) {
    double nb = static_cast<double>(std::min(p.layout.outer, (rc + 1) * p.chunk_rows) - rc * p.chunk_rows);
    merge_columns(w, count, nb, pmean.data(), pm2.data(), pmean.data() + rc * w, pm2.data() + rc * w);
    count += nb;
  }
  for (std::int64_t c = 0; c < p.layout.channels; ++c) {
    Moments m;
    for (std::int64_t i = 0; i < p.layout.inner; ++i)
      m = combine_moments(m, {count, pmean[c * p.layout.inner + i], pm2[c * p.layout.inner + i]});
    mean[c] = m.mean;
    var[c] = std::max(m.m2, 0.0) / m.count;
  }
}

// Plane walk: moments of one contiguous plane, by segments of p.segment values, each one pass of sums
// shifted by the mean of the segment's first values.
template <class T>
Moments plane_moments(const T* x, std::int64_t n, std::int64_t segment) {
  Moments m;
  for (std::int64_t s0 = 0; s0 < n; s0 += segment) {
    const std::int64_t len = std::min(segment, n - s0);
    const T* xs = x + s0;
    const std::int64_t k = std::min(kShiftSample, len);
    double sample = 0;
    for (std::int64_t i = 0; i < k; ++i) sample += static_cast<double>(xs[i]);
    const T x0 = static_cast<T>(sample / static_cast<double>(k));
    T s1, s2;
    lane_sum_pair<T>(
        len,
        [&](std::int64_t i, auto& a, auto& b) {
          using U = std::remove_cvref_t<decltype(a)>;
          U e = load_as<U>(xs + i) - x0;
          a += e;
          b += e * e;
        },
        s1, s2);
    Moments block{static_cast<double>(len), 0, 0};
    shifted_moments(block.count, static_cast<double>(x0), static_cast<double>(s1), static_cast<double>(s2), block.mean,
                    block.m2);
    m = combine_moments(m, block);
  }
  return m;
}

template <class T>
void plane_moments_all(const Partition& p, const T* x, double* mean, double* var) {
  const std::int64_t channels = p.layout.channels;
  std::vector<double> pmean(static_cast<std::size_t>(p.plane_count)), pm2(pmean.size());
  bn_detail::for_each_item(p, [&](std::int64_t item) {
    std::int64_t q0 = item * p.chunk_planes, q1 = std::min(p.plane_count, q0 + p.chunk_planes);
    for (std::int64_t q = q0; q < q1; ++q) {
      Moments m = plane_moments(x + q * p.layout.inner, p.layout.inner, p.segment);
      pmean[q] = m.mean;
      pm2[q] = m.m2;
    }
  });
  // Planes of equal count merged in o order, all channels at once.
  const double inner = static_cast<double>(p.layout.inner);
  for (std::int64_t o = 1; o < p.layout.outer; ++o)
    merge_columns(channels, static_cast<double>(o) * inner, inner, pmean.data(), pm2.data(), pmean.data() + o * channels,
                  pm2.data() + o * channels);
  const double count = static_cast<double>(p.layout.outer) * inner;
  for (std::int64_t c = 0; c < channels; ++c) {
    mean[c] = pmean[c];
    var[c] = std::max(pm2[c], 0.0) / count;
  }
}

}  // namespace

template <class T>
void batch_norm_moments(const ChannelLayout& layout, const T* x, double* mean, double* var) {
  Partition p = bn_detail::make_partition("batch_norm_moments", layout, sizeof(T));
  if (p.items == 0) {
    std::fill(mean, mean + layout.channels, 0.0);
    std::fill(var, var + layout.channels, 0.0);
  } else if (p.planes) {
    plane_moments_all(p, x, mean, var);
  } else {
    column_moments(p, x, mean, var);
  }
}

template void batch_norm_moments<float>(const ChannelLayout&, const float*, double*, double*);
template void batch_norm_moments<double>(const ChannelLayout&, const double*, double*, double*);

}  // namespace keel::kernels
