#pragma once
// Internal to the batch-norm kernels: how an [outer, C, inner] tensor is cut into work, fixed by the
// layout alone (never by the thread count), so every pass and every reduction order is reproducible.
//
// Two walks:
//  - columns (inner < kPlaneMin, e.g. NHWC and [N, C]): rows of width W = C*inner with SIMD across the
//    row; column j belongs to channel j / inner. Work items are (row chunk × column tile) rectangles;
//    statistics are kept per column and merged over row chunks, then over a channel's columns. Narrow
//    rows (one tile spans the row) are handled `fold` rows at a time as one contiguous run of
//    `period` = fold·W values, so short rows cost no per-row loop overhead (see batch_norm_columns.h).
//  - planes (inner >= kPlaneMin, e.g. NCHW): each (o, c) plane of `inner` contiguous values is one unit;
//    work items are runs of consecutive planes; statistics are kept per plane and merged per channel in o order.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "keel/core/kernels/batch_norm.h"
#include "keel/core/parallel.h"

namespace keel::kernels::bn_detail {

inline constexpr std::int64_t kPlaneMin = 32;            // inner values from which a plane is one unit
inline constexpr std::int64_t kTileBytes = 512;          // widest column tile (one row's slice of a block)
inline constexpr std::int64_t kBlockBytes = 64 * 1024;   // values summed in T before their moments go to double
inline constexpr std::int64_t kChunkBytes = 128 * 1024;  // one parallel work item

struct Partition {
  ChannelLayout layout;
  bool planes = false;
  // Column walk.
  std::int64_t width = 0, tile = 0, block_rows = 0, chunk_rows = 0, row_chunks = 0, col_tiles = 0;
  std::int64_t fold = 1, period = 0;
  // Plane walk: `segment` values form one two-pass block inside a plane.
  std::int64_t plane_count = 0, chunk_planes = 0, segment = 0;
  std::int64_t items = 0;
};

// A column-walk work item: rows [r0, r1) × columns [j0, j1).
struct Rect {
  std::int64_t r0, r1, j0, j1;
};

// Validates the layout (ShapeError naming `op`) and cuts it for elements of elem_size bytes.
Partition make_partition(const char* op, const ChannelLayout& layout, std::int64_t elem_size);

// ValueError naming `op` unless eps >= 0 (NaN fails).
void check_eps(const char* op, double eps);

inline Rect rect_of(const Partition& p, std::int64_t item) {
  std::int64_t rc = item / p.col_tiles, ct = item % p.col_tiles;
  return {rc * p.chunk_rows, std::min(p.layout.outer, (rc + 1) * p.chunk_rows), ct * p.tile,
          std::min(p.width, (ct + 1) * p.tile)};
}

// fn(item) for every work item, in parallel.
template <class Fn>
void for_each_item(const Partition& p, Fn&& fn) {
  parallel::for_each_chunk(0, p.items, 1, [&](std::int64_t item, std::int64_t, std::int64_t) { fn(item); });
}

// Column walk: fn(offset, n) for the contiguous runs covering rows [b0, b1) of rectangle r: single rows of
// the tile, or `fold` whole rows at a time (the last run possibly shorter).
template <class Fn>
void for_each_row_run(const Partition& p, const Rect& r, std::int64_t b0, std::int64_t b1, Fn&& fn) {
  const std::int64_t n = r.j1 - r.j0;
  for (std::int64_t row = b0; row < b1; row += p.fold) fn(row * p.width + r.j0, std::min(p.fold, b1 - row) * n);
}

// Column walk: out[j] = Σ_s acc[s·n + j] over the fold slots, in slot order (n = the tile width).
template <class T, class Out>
void fold_slots(const Partition& p, std::int64_t n, const T* acc, Out* out) {
  for (std::int64_t j = 0; j < n; ++j) out[j] = static_cast<Out>(acc[j]);
  for (std::int64_t s = 1; s < p.fold; ++s)
    for (std::int64_t j = 0; j < n; ++j) out[j] += static_cast<Out>(acc[s * n + j]);
}

// Column walk: v[0..n) repeated over the fold slots of out[0..fold·n).
template <class T>
void repeat_slots(const Partition& p, std::int64_t n, const T* v, T* out) {
  for (std::int64_t s = 0; s < p.fold; ++s)
    if (out + s * n != v) std::copy(v, v + n, out + s * n);
}

// For element-wise passes: fn(offset, n, param_index, per_column) over contiguous runs of the tensor.
// Column walk: a run is one row's slice of a tile and parameters are per column from param_index on.
// Plane walk: a run is one plane and the one parameter set is at param_index (its channel).
template <class Fn>
void for_each_run(const Partition& p, Fn&& fn) {
  for_each_item(p, [&](std::int64_t item) {
    if (p.planes) {
      std::int64_t q0 = item * p.chunk_planes, q1 = std::min(p.plane_count, q0 + p.chunk_planes);
      for (std::int64_t q = q0; q < q1; ++q) fn(q * p.layout.inner, p.layout.inner, q % p.layout.channels, false);
    } else {
      Rect r = rect_of(p, item);
      for_each_row_run(p, r, r.r0, r.r1, [&](std::int64_t off, std::int64_t n) { fn(off, n, r.j0, true); });
    }
  });
}

// Per-channel values laid out the way for_each_run indexes parameters: per column (channel j / inner)
// in the column walk (repeated over the fold slots), per channel in the plane walk.
template <class T>
std::vector<T> per_param(const Partition& p, const std::vector<double>& per_channel) {
  if (p.planes) return std::vector<T>(per_channel.begin(), per_channel.end());
  std::vector<T> out(static_cast<std::size_t>(std::max(p.width, p.period)));
  for (std::int64_t j = 0; j < static_cast<std::int64_t>(out.size()); ++j)
    out[j] = static_cast<T>(per_channel[j % p.width / p.layout.inner]);
  return out;
}

// v[c] as a double, or `fallback` for an absent (nullptr) per-channel array.
template <class T>
double value_or(const T* v, std::int64_t c, double fallback) {
  return v ? static_cast<double>(v[c]) : fallback;
}

// The mean as a T pair hi + lo (hi = mean rounded to T, lo = the rest), so x - hi is exact near the mean.
template <class T>
void split_mean(double mean, T& hi, double& lo) {
  hi = static_cast<T>(mean);
  lo = mean - static_cast<double>(hi);
}

// Per-parameter T values for y = (x - hi)·scale + shift, equal to (x - mean_c)·scale_c + shift_c with the
// mean split as hi + lo: shift absorbs -scale·lo, so x - hi stays exact for x near the mean.
template <class T>
struct AffineParams {
  std::vector<T> hi, scale, shift;
};

// The per-channel doubles behind AffineParams: hi (a T value), scale, and shift − scale·lo.
template <class T, class M>
void fold_mean(const M* mean, const std::vector<double>& scale, const std::vector<double>& shift,
               std::vector<double>& hi, std::vector<double>& folded_shift) {
  const std::size_t channels = scale.size();
  hi.resize(channels);
  folded_shift.resize(channels);
  for (std::size_t c = 0; c < channels; ++c) {
    T h;
    double lo;
    split_mean(static_cast<double>(mean[c]), h, lo);
    hi[c] = static_cast<double>(h);
    folded_shift[c] = shift[c] - scale[c] * lo;
  }
}

template <class T, class M>
AffineParams<T> affine_params(const Partition& p, const M* mean, const std::vector<double>& scale,
                              const std::vector<double>& shift) {
  std::vector<double> hi, folded_shift;
  fold_mean<T>(mean, scale, shift, hi, folded_shift);
  return {per_param<T>(p, hi), per_param<T>(p, scale), per_param<T>(p, folded_shift)};
}

// The same T values one per channel, for a kernel that walks channels itself.
template <class T, class M>
AffineParams<T> affine_channels(const M* mean, const std::vector<double>& scale, const std::vector<double>& shift) {
  std::vector<double> hi, folded_shift;
  fold_mean<T>(mean, scale, shift, hi, folded_shift);
  auto as_t = [](const std::vector<double>& v) { return std::vector<T>(v.begin(), v.end()); };
  return {as_t(hi), as_t(scale), as_t(folded_shift)};
}

// Inference's per-channel scale invstd(moving_var)·gamma and shift beta.
template <class T>
void inference_scale_shift(std::int64_t channels, const T* gamma, const T* beta, const T* moving_var, double eps,
                           std::vector<double>& scale, std::vector<double>& shift) {
  std::vector<double> var(static_cast<std::size_t>(channels));
  scale.resize(var.size());
  shift.resize(var.size());
  for (std::int64_t c = 0; c < channels; ++c) var[c] = static_cast<double>(moving_var[c]);
  batch_norm_invstd(channels, var.data(), eps, scale.data());
  for (std::int64_t c = 0; c < channels; ++c) {
    scale[c] *= value_or(gamma, c, 1.0);
    shift[c] = value_or(beta, c, 0.0);
  }
}

}  // namespace keel::kernels::bn_detail
