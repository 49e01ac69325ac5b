#pragma once
// Internal to the batch-norm kernels: register-resident per-column accumulation for the column walk.
//
// A block's rows are visited as runs of one period (P = fold·n values, see batch_norm_partition.h) and
// every slot s of the period has its own accumulator. Loading and storing those accumulators on every run
// costs more than the data itself for narrow rows (NHWC with C = 32 or 64), so slots are taken in groups
// of up to kGroupVectors SIMD vectors whose accumulators stay in registers across all runs of the block.
// Each slot still receives its terms in run order, exactly as a scalar loop over runs would add them, so
// the result does not depend on the grouping.
#include <algorithm>
#include <cstdint>
#include <utility>

#include "keel/core/kernels/detail/batch_norm_partition.h"
#include "keel/core/kernels/simd.h"

namespace keel::kernels::bn_detail {

inline constexpr int kGroupVectors = 8;

// Slots [s0, s0 + NV·lanes) over `runs` full runs starting at element offset `first`, `stride` apart.
template <class T, int NV, int NACC, class Term>
inline void accumulate_group(std::int64_t first, std::int64_t stride, std::int64_t runs, std::int64_t s0, Term& term,
                             T* acc0, T* acc1) {
  using V = typename NativeSimd<T>::V;
  constexpr std::int64_t L = NativeSimd<T>::lanes;
  V a[NV], b[NV];
#pragma GCC unroll 16
  for (int v = 0; v < NV; ++v) {
    a[v] = load_as<V>(acc0 + s0 + v * L);
    if constexpr (NACC == 2) b[v] = load_as<V>(acc1 + s0 + v * L);
  }
  for (std::int64_t r = 0; r < runs; ++r) {
    const std::int64_t off = first + r * stride + s0;
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) term(off + v * L, s0 + v * L, a[v], b[v]);
  }
#pragma GCC unroll 16
  for (int v = 0; v < NV; ++v) {
    store_as(acc0 + s0 + v * L, a[v]);
    if constexpr (NACC == 2) store_as(acc1 + s0 + v * L, b[v]);
  }
}

template <class T, int NACC, class Term, int... NV>
inline void accumulate_group_n(int nv, std::int64_t first, std::int64_t stride, std::int64_t runs, std::int64_t s0,
                               Term& term, T* acc0, T* acc1, std::integer_sequence<int, NV...>) {
  ((nv == NV + 1 ? accumulate_group<T, NV + 1, NACC>(first, stride, runs, s0, term, acc0, acc1) : void()), ...);
}

// Rows [b0, b1) of rectangle r, one period per run: term(offset, slot, a, b) adds element `offset` (slot
// `slot` of the period) into accumulators a (and b when NACC == 2); a and b are T or NativeSimd<T>::V
// (every slot has a lane of its own, so the width cannot change a result), so one generic term serves the
// vector groups and the scalar remainder (slots past the last whole vector and a last run shorter than a
// period). acc0/acc1 hold P = fold·n values.
template <class T, int NACC, class Term>
void accumulate_rows(const Partition& p, const Rect& r, std::int64_t b0, std::int64_t b1, Term&& term, T* acc0,
                     T* acc1) {
  constexpr std::int64_t L = NativeSimd<T>::lanes;
  const std::int64_t n = r.j1 - r.j0, period = p.fold * n, stride = p.fold * p.width;
  const std::int64_t first = b0 * p.width + r.j0, runs = (b1 - b0) / p.fold;
  const std::int64_t vectors = period / L;
  for (std::int64_t g = 0; g < vectors; g += kGroupVectors) {
    const int nv = static_cast<int>(std::min<std::int64_t>(kGroupVectors, vectors - g));
    accumulate_group_n<T, NACC>(nv, first, stride, runs, g * L, term, acc0, acc1,
                                std::make_integer_sequence<int, kGroupVectors>{});
  }
  T unused = 0;
  for (std::int64_t q = 0; q < runs; ++q)
    for (std::int64_t s = vectors * L; s < period; ++s) term(first + q * stride + s, s, acc0[s], acc1 ? acc1[s] : unused);
  const std::int64_t tail = (b1 - b0) % p.fold * n;
  for (std::int64_t s = 0; s < tail; ++s) term(first + runs * stride + s, s, acc0[s], acc1 ? acc1[s] : unused);
}

}  // namespace keel::kernels::bn_detail

namespace keel::kernels::bn_detail {

// Element-wise passes of the column walk with K per-column parameter arrays held in registers: the
// parameters of a tile of n = NP·lanes columns fill NP vectors each, loaded once per work item.
template <class T, int NP, int K, class Fn>
inline void map_rows_group(const Partition& p, const Rect& r, const T* const (&params)[K], Fn& fn) {
  using V = typename NativeSimd<T>::V;
  constexpr std::int64_t L = NativeSimd<T>::lanes;
  V pv[NP][K];
#pragma GCC unroll 8
  for (int v = 0; v < NP; ++v)
    for (int k = 0; k < K; ++k) pv[v][k] = load_as<V>(params[k] + r.j0 + v * L);
  for (std::int64_t row = r.r0; row < r.r1; ++row) {
    const std::int64_t off = row * p.width + r.j0;
#pragma GCC unroll 8
    for (int v = 0; v < NP; ++v) fn(off + v * L, pv[v]);
  }
}

inline constexpr int kMaxParamVectors = 8;

// Whether map_rows can hold a tile's parameters in registers: all tiles of the row equally wide, in
// whole vectors, at most kMaxParamVectors of them.
template <class T>
bool registers_hold_tile(const Partition& p) {
  return !p.planes && p.width % p.tile == 0 && p.tile % NativeSimd<T>::lanes == 0 &&
         p.tile / NativeSimd<T>::lanes <= kMaxParamVectors;
}

// For every row of every work item: fn(offset, pv) writes the NP·lanes values from `offset` on (a multiple
// of the lanes), pv[k] being parameter k (params[k] holds one value per column) for those columns. Requires
// registers_hold_tile<T>(p). Streamed: fn writes with streaming stores, fenced at the end of each item.
template <class T, bool Streamed = false, int K, class Fn>
void map_rows(const Partition& p, const T* const (&params)[K], Fn&& fn) {
  const int np = static_cast<int>(p.tile / NativeSimd<T>::lanes);
  for_each_item(p, [&](std::int64_t item) {
    const Rect r = rect_of(p, item);
    [&]<int... I>(std::integer_sequence<int, I...>) {
      ((np == I + 1 ? map_rows_group<T, I + 1, K>(p, r, params, fn) : void()), ...);
    }(std::make_integer_sequence<int, kMaxParamVectors>{});
    if constexpr (Streamed) stream_fence();
  });
}

}  // namespace keel::kernels::bn_detail
