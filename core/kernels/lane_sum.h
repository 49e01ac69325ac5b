#pragma once
// Deterministic sums that stay in SIMD registers without -ffast-math: kSumVectors (or Vectors)
// independent accumulators, each a logical 64-byte vector (Simd<T>), folded by a fixed tree (vectors,
// then lanes), then the scalar tail. The order of additions depends on n alone, never on the ISA.
//
// A 64-byte accumulator is held as 64 / kNativeVectorBytes native vectors ("parts": 2 with AVX2, 1 with
// AVX-512). Lane j of part p is lane p·NL + j of the logical vector, so every lane sums the same elements
// in the same order as a single 64-byte vector would, and the lane fold's wide steps (offsets of NL lanes
// or more) are part additions. GCC's own lowering of 64-byte vectors to AVX2 spilled them to the stack.
#include <cstdint>
#include <utility>

#include "keel/core/kernels/simd.h"

namespace keel::kernels {

inline constexpr int kSumVectors = 4;

namespace lane_sum_detail {

template <class T>
using Native = typename NativeSimd<T>::V;

template <class T>
inline constexpr int kParts = static_cast<int>(Simd<T>::lanes / NativeSimd<T>::lanes);

// Lane l of the result is v[l] + v[l + W] for l < W (the upper lanes are don't-cares).
template <class T, std::int64_t W, std::size_t... I>
inline Native<T> add_upper(Native<T> v, std::index_sequence<I...>) {
  return v + __builtin_shufflevector(v, v, static_cast<int>((I + W) % NativeSimd<T>::lanes)...);
}

// Lane 0 of v after lane l gets lane l + w for w = W, W/2, ..., 1, in registers.
template <class T, std::int64_t W = NativeSimd<T>::lanes / 2>
inline T fold_lanes(Native<T> v) {
  if constexpr (W == 0) {
    return v[0];
  } else {
    v = add_upper<T, W>(v, std::make_index_sequence<NativeSimd<T>::lanes>{});
    return fold_lanes<T, W / 2>(v);
  }
}

// Vectors, then the logical vector's lanes by halving: across parts first, then within a part.
template <class T, int Vectors>
inline T fold(Native<T> (&a)[Vectors][kParts<T>]) {
  for (int w = Vectors / 2; w >= 1; w /= 2)
    for (int v = 0; v < w; ++v)
      for (int p = 0; p < kParts<T>; ++p) a[v][p] += a[v + w][p];
  for (int w = kParts<T> / 2; w >= 1; w /= 2)
    for (int p = 0; p < w; ++p) a[0][p] += a[0][p + w];
  return fold_lanes<T>(a[0][0]);
}

}  // namespace lane_sum_detail

// Σ over i in [0, n) of two addends: term(i, a, b) adds element i's addends into a and b, which are
// both T or both NativeSimd<T>::V (then covering elements i .. i + NativeSimd<T>::lanes - 1). A term
// with more live values of its own takes Vectors = 2, so that its accumulators and temporaries fit AVX2's
// 16 registers.
template <class T, int Vectors = kSumVectors, class Term>
inline void lane_sum_pair(std::int64_t n, Term term, T& sum_a, T& sum_b) {
  static_assert(Vectors >= 1 && (Vectors & (Vectors - 1)) == 0, "a power of two");
  using N = lane_sum_detail::Native<T>;
  constexpr int P = lane_sum_detail::kParts<T>;
  constexpr std::int64_t L = Simd<T>::lanes, NL = NativeSimd<T>::lanes;
  N a[Vectors][P] = {}, b[Vectors][P] = {};
  std::int64_t i = 0;
  for (; i + Vectors * L <= n; i += Vectors * L)
#pragma GCC unroll 16
    for (int v = 0; v < Vectors; ++v)
#pragma GCC unroll 8
      for (int p = 0; p < P; ++p) term(i + v * L + p * NL, a[v][p], b[v][p]);
  for (int v = 0; i + L <= n; i += L, ++v)
#pragma GCC unroll 8
    for (int p = 0; p < P; ++p) term(i + p * NL, a[v][p], b[v][p]);
  T tail_a = 0, tail_b = 0;
  for (; i < n; ++i) term(i, tail_a, tail_b);
  sum_a = lane_sum_detail::fold<T, Vectors>(a) + tail_a;
  sum_b = lane_sum_detail::fold<T, Vectors>(b) + tail_b;
}

}  // namespace keel::kernels
