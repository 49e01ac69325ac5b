#pragma once
// Deterministic sums that stay in SIMD registers without -ffast-math: kSumVectors independent vector
// accumulators, folded by a fixed tree (vectors, then lanes), then the scalar tail. The order of
// additions depends on n alone.
#include <cstdint>

#include "keel/core/kernels/simd.h"

namespace keel::kernels {

inline constexpr int kSumVectors = 4;

namespace lane_sum_detail {

template <class T>
inline T fold(typename Simd<T>::V (&a)[kSumVectors]) {
  for (int w = kSumVectors / 2; w >= 1; w /= 2)
    for (int v = 0; v < w; ++v) a[v] += a[v + w];
  T lanes[Simd<T>::lanes];
  store_as(lanes, a[0]);
  for (std::int64_t w = Simd<T>::lanes / 2; w >= 1; w /= 2)
    for (std::int64_t l = 0; l < w; ++l) lanes[l] += lanes[l + w];
  return lanes[0];
}

}  // namespace lane_sum_detail

// Σ over i in [0, n) of two addends: term(i, a, b) adds element i's addends into a and b, which are
// both T or both Simd<T>::V (then covering elements i .. i + lanes - 1).
template <class T, class Term>
inline void lane_sum_pair(std::int64_t n, Term term, T& sum_a, T& sum_b) {
  using V = typename Simd<T>::V;
  constexpr std::int64_t L = Simd<T>::lanes;
  V a[kSumVectors] = {}, b[kSumVectors] = {};
  std::int64_t i = 0;
  for (; i + kSumVectors * L <= n; i += kSumVectors * L)
#pragma GCC unroll 4
    for (int v = 0; v < kSumVectors; ++v) term(i + v * L, a[v], b[v]);
  for (int v = 0; i + L <= n; i += L, ++v) term(i, a[v], b[v]);
  T tail_a = 0, tail_b = 0;
  for (; i < n; ++i) term(i, tail_a, tail_b);
  sum_a = lane_sum_detail::fold<T>(a) + tail_a;
  sum_b = lane_sum_detail::fold<T>(b) + tail_b;
}

}  // namespace keel::kernels
