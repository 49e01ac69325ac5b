#pragma once
// Moments from shifted sums, for the normalization kernels (layer_norm, group_norm): Σ(x − s) and
// Σ(x − s)² in T with s near the values' mean, turned into double (count, mean, M2) and merged with
// combine_moments. Never raw Σx and Σx², so an offset far above the spread costs no accuracy.
#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "keel/core/kernels/batch_norm.h"
#include "keel/core/moments.h"
#include "keel/core/kernels/lane_sum.h"

namespace keel::kernels {

// A shift near the data: the mean of its first values (at most 8).
template <class T>
double initial_shift(const T* x, std::int64_t n) {
  const std::int64_t k = std::min<std::int64_t>(8, n);
  double sum = 0;
  for (std::int64_t i = 0; i < k; ++i) sum += static_cast<double>(x[i]);
  return k ? sum / static_cast<double>(k) : 0.0;
}

// Adds Σ(x − s) and Σ(x − s)² over the n values at x to s1 and s2 (SIMD lanes; the order depends on n
// and Vectors, lane_sum_pair's accumulator count).
template <class T, int Vectors = kSumVectors>
void add_shifted_sums(const T* x, std::int64_t n, T s, T& s1, T& s2) {
  T a1 = 0, a2 = 0;
  lane_sum_pair<T, Vectors>(
      n,
      [&](std::int64_t i, auto& a, auto& b) {
        using U = std::remove_reference_t<decltype(a)>;
        const U d = load_as<U>(x + i) - s;
        a += d;
        b += d * d;
      },
      a1, a2);
  s1 += a1;
  s2 += a2;
}

// The moments of `count` values whose shifted sums around `shift` are s1 and s2.
inline Moments shifted_moments(double count, double shift, double s1, double s2) {
  return {count, shift + s1 / count, std::max(0.0, s2 - s1 * (s1 / count))};
}

}  // namespace keel::kernels
