// Per-channel moments: two-pass sums inside cache-resident blocks (shifted by the block's first value,
// so an offset costs no precision), merged by Chan's formula in a fixed order.
#include <algorithm>
#include <cmath>
#include <vector>

#include "keel/core/kernels/batch_norm.h"
#include "keel/core/kernels/batch_norm_partition.h"
#include "keel/core/kernels/lane_sum.h"

namespace keel::kernels {

Moments combine_moments(const Moments& a, const Moments& b) {
  if (b.count == 0) return a;
  if (a.count == 0) return b;
  double n = a.count + b.count, delta = b.mean - a.mean;
  double m2 = a.m2 + b.m2 + delta * delta * (a.count * b.count / n);
  return {n, a.mean + delta * (b.count / n), m2 < 0 ? 0.0 : m2};
}

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

template <class T>
void add_shifted(const T* __restrict x, const T* __restrict shift, std::int64_t n, T* __restrict acc) {
  for (std::int64_t i = 0; i < n; ++i) acc[i] += x[i] - shift[i];
}

template <class T>
void add_squared_deviation(const T* __restrict x, const T* __restrict shift, const T* __restrict dm, std::int64_t n,
                           T* __restrict acc) {
  for (std::int64_t i = 0; i < n; ++i) {
    T e = (x[i] - shift[i]) - dm[i];
    acc[i] += e * e;
  }
}

// Column walk, one work item: per-column moments of its rectangle, written to mean/m2 at the item's
// columns. Each block is two passes in T over its rows shifted by the block's first row (accumulated per
// fold slot, then folded), merged into the running double moments.
template <class T>
void column_item_moments(const Partition& p, const T* x, const bn_detail::Rect& r, double* mean, double* m2) {
  constexpr std::int64_t kMax = bn_detail::kTileBytes / sizeof(float);
  const std::int64_t n = r.j1 - r.j0, slots = p.fold * n;
  T shift[kMax], dm[kMax], acc[kMax];
  double sum[kMax], bmean[kMax], bm2[kMax];
  mean += r.j0;
  m2 += r.j0;
  std::fill(mean, mean + n, 0.0);
  std::fill(m2, m2 + n, 0.0);
  double count = 0;
  for (std::int64_t b0 = r.r0; b0 < r.r1; b0 += p.block_rows) {
    const std::int64_t b1 = std::min(r.r1, b0 + p.block_rows);
    const double nb = static_cast<double>(b1 - b0);
    bn_detail::repeat_slots(p, n, x + b0 * p.width + r.j0, shift);
    std::fill(acc, acc + slots, T(0));
    bn_detail::for_each_row_run(p, r, b0, b1,
                                [&](std::int64_t off, std::int64_t len) { add_shifted(x + off, shift, len, acc); });
    bn_detail::fold_slots(p, n, acc, sum);
    for (std::int64_t j = 0; j < n; ++j) {
      dm[j] = static_cast<T>(sum[j] / nb);
      bmean[j] = static_cast<double>(shift[j]) + sum[j] / nb;
    }
    bn_detail::repeat_slots(p, n, dm, dm);
    std::fill(acc, acc + slots, T(0));
    bn_detail::for_each_row_run(p, r, b0, b1, [&](std::int64_t off, std::int64_t len) {
      add_squared_deviation(x + off, shift, dm, len, acc);
    });
    bn_detail::fold_slots(p, n, acc, bm2);
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
  double count = static_cast<double>(std::min(p.l.outer, p.chunk_rows));
  for (std::int64_t rc = 1; rc < p.row_chunks; ++rc) {
    double nb = static_cast<double>(std::min(p.l.outer, (rc + 1) * p.chunk_rows) - rc * p.chunk_rows);
    merge_columns(w, count, nb, pmean.data(), pm2.data(), pmean.data() + rc * w, pm2.data() + rc * w);
    count += nb;
  }
  for (std::int64_t c = 0; c < p.l.channels; ++c) {
    Moments m;
    for (std::int64_t i = 0; i < p.l.inner; ++i)
      m = combine_moments(m, {count, pmean[c * p.l.inner + i], pm2[c * p.l.inner + i]});
    mean[c] = m.mean;
    var[c] = std::max(m.m2, 0.0) / m.count;
  }
}

// Plane walk: moments of one contiguous plane, by segments of p.segment values.
template <class T>
Moments plane_moments(const T* x, std::int64_t n, std::int64_t segment) {
  Moments m;
  for (std::int64_t s0 = 0; s0 < n; s0 += segment) {
    const std::int64_t len = std::min(segment, n - s0);
    const T* xs = x + s0;
    const T x0 = xs[0];
    T sum = lane_sum<T>(len, [&](std::int64_t i) { return xs[i] - x0; });
    T dm = sum / static_cast<T>(len);
    T ss = lane_sum<T>(len, [&](std::int64_t i) {
      T e = (xs[i] - x0) - dm;
      return e * e;
    });
    double dlen = static_cast<double>(len);
    m = combine_moments(m, {dlen, static_cast<double>(x0) + static_cast<double>(sum) / dlen, static_cast<double>(ss)});
  }
  return m;
}

template <class T>
void plane_moments_all(const Partition& p, const T* x, double* mean, double* var) {
  std::vector<Moments> per_plane(static_cast<std::size_t>(p.plane_count));
  bn_detail::for_each_item(p, [&](std::int64_t item) {
    std::int64_t q0 = item * p.chunk_planes, q1 = std::min(p.plane_count, q0 + p.chunk_planes);
    for (std::int64_t q = q0; q < q1; ++q) per_plane[q] = plane_moments(x + q * p.l.inner, p.l.inner, p.segment);
  });
  for (std::int64_t c = 0; c < p.l.channels; ++c) {
    Moments m;
    for (std::int64_t o = 0; o < p.l.outer; ++o) m = combine_moments(m, per_plane[o * p.l.channels + c]);
    mean[c] = m.mean;
    var[c] = std::max(m.m2, 0.0) / m.count;
  }
}

}  // namespace

template <class T>
void batch_norm_moments(const ChannelLayout& l, const T* x, double* mean, double* var) {
  Partition p = bn_detail::make_partition("batch_norm_moments", l, sizeof(T));
  if (p.items == 0) {
    std::fill(mean, mean + l.channels, 0.0);
    std::fill(var, var + l.channels, 0.0);
  } else if (p.planes) {
    plane_moments_all(p, x, mean, var);
  } else {
    column_moments(p, x, mean, var);
  }
}

template void batch_norm_moments<float>(const ChannelLayout&, const float*, double*, double*);
template void batch_norm_moments<double>(const ChannelLayout&, const double*, double*, double*);

}  // namespace keel::kernels
