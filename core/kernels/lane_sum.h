#pragma once
// Deterministic sums that the compiler vectorizes without -ffast-math: kLanes independent
// accumulators (four 512-bit registers' worth), folded by a fixed tree, then the tail. The order of
// additions depends on n alone.
#include <cstdint>

namespace keel::kernels {

template <class T>
inline constexpr int kLanes = 256 / static_cast<int>(sizeof(T));

// Σ term(i) and Σ term2(i) for i in [0, n), in one pass; term(i, a, b) sets the two addends.
template <class T, class Term>
inline void lane_sum_pair(std::int64_t n, Term term, T& sum_a, T& sum_b) {
  constexpr int L = kLanes<T>;
  T a[L] = {}, b[L] = {};
  std::int64_t i = 0;
  for (; i + L <= n; i += L)
    for (int l = 0; l < L; ++l) {
      T u, v;
      term(i + l, u, v);
      a[l] += u;
      b[l] += v;
    }
  for (int w = L / 2; w >= 1; w /= 2)
    for (int l = 0; l < w; ++l) {
      a[l] += a[l + w];
      b[l] += b[l + w];
    }
  T tail_a = 0, tail_b = 0;
  for (; i < n; ++i) {
    T u, v;
    term(i, u, v);
    tail_a += u;
    tail_b += v;
  }
  sum_a = a[0] + tail_a;
  sum_b = b[0] + tail_b;
}

// Σ term(i) for i in [0, n).
template <class T, class Term>
inline T lane_sum(std::int64_t n, Term term) {
  constexpr int L = kLanes<T>;
  T a[L] = {};
  std::int64_t i = 0;
  for (; i + L <= n; i += L)
    for (int l = 0; l < L; ++l) a[l] += term(i + l);
  for (int w = L / 2; w >= 1; w /= 2)
    for (int l = 0; l < w; ++l) a[l] += a[l + w];
  T tail = 0;
  for (; i < n; ++i) tail += term(i);
  return a[0] + tail;
}

}  // namespace keel::kernels
