#pragma once
// Deterministic sums that stay in SIMD registers without -ffast-math: kSumVectors independent vector
// accumulators, folded by a fixed tree (vectors, then lanes), then the scalar tail. The order of
// additions depends on n alone.
#include <cstdint>
#include <utility>

#include "keel/core/kernels/simd.h"

namespace keel::kernels {

inline constexpr int kSumVectors = 4;

namespace lane_sum_detail {

// Lane l of the result is v[l] + v[l + W] for l < W (the upper lanes are don't-cares).
template <class T, std::int64_t W, std::size_t... I>
inline typename Simd<T>::V add_upper(typename Simd<T>::V v, std::index_sequence<I...>) {
  return v + __builtin_shufflevector(v, v, static_cast<int>((I + W) % Simd<T>::lanes)...);
}

template <class T, std::int64_t W>
inline typename Simd<T>::V add_upper(typename Simd<T>::V v) {
  return add_upper<T, W>(v, std::make_index_sequence<Simd<T>::lanes>{});
}

// Lane 0 of v after lane l gets lane l + w for w = W, W/2, ..., 1, in registers.
template <class T, std::int64_t W = Simd<T>::lanes / 2>
inline T fold_lanes(typename Simd<T>::V v) {
  v = add_upper<T, W>(v);
  if constexpr (W > 1)
    return fold_lanes<T, W / 2>(v);
  else
    return v[0];
}

// Vectors, then lanes, by halving.
template <class T>
inline T fold(typename Simd<T>::V (&a)[kSumVectors]) {
  for (int w = kSumVectors / 2; w >= 1; w /= 2)
    for (int v = 0; v < w; ++v) a[v] += a[v + w];
  return fold_lanes<T>(a[0]);
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
