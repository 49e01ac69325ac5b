#include "keel/core/random.h"

#include <fmt/format.h>

#include <atomic>
#include <cmath>
#include <numbers>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

#include "keel/core/dispatch.h"
#include "keel/core/error.h"
#include "keel/core/parallel.h"

namespace keel {
namespace {

std::atomic<std::uint64_t> g_seed{0x853c49e6748fea9bULL};
std::atomic<std::uint64_t> g_draws{0};

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// A double in (0, 1] from two 32-bit words (53 random bits; 1 only when all 53 are set, where
// 2^53 - 0.5 rounds up to 2^53).
double unit_open(std::uint32_t hi, std::uint32_t lo) {
  std::uint64_t bits = ((static_cast<std::uint64_t>(hi) << 32) | lo) >> 11;
  return (static_cast<double>(bits) + 0.5) * 0x1.0p-53;
}

// Philox4x32-10 for kPhiloxLanes consecutive counters (high counter word 0), keeping the first two
// output words: the same rounds as Philox4x32::generate, across lanes. Each 32-bit word sits in a 64-bit
// lane, so a round's 32x32 -> 64-bit products are one vector multiply of the lanes' low halves (AVX2's
// vpmuludq; GCC vectorizes neither form of the loop by itself).
constexpr int kPhiloxLanes = 16;
void philox_first_words(std::uint64_t seed, std::uint64_t first_counter, std::uint32_t w0[kPhiloxLanes],
                        std::uint32_t w1[kPhiloxLanes]) {
  constexpr std::uint64_t kMul0 = 0xD2511F53, kMul1 = 0xCD9E8D57, kLow = 0xFFFFFFFF;
  constexpr std::uint32_t kWeyl0 = 0x9E3779B9, kWeyl1 = 0xBB67AE85;
#if defined(__AVX2__)
  using U64x4 = std::uint64_t __attribute__((vector_size(32)));
  const auto product = [](U64x4 a, std::uint64_t b) {
    const __m256i factor = _mm256_set1_epi64x(static_cast<long long>(b));
    return reinterpret_cast<U64x4>(_mm256_mul_epu32(reinterpret_cast<__m256i>(a), factor));
  };
  constexpr int kVectors = kPhiloxLanes / 4;
  U64x4 c0[kVectors], c1[kVectors], c2[kVectors] = {}, c3[kVectors] = {};
  for (int v = 0; v < kVectors; ++v)
    for (int l = 0; l < 4; ++l) {
      const std::uint64_t counter = first_counter + static_cast<std::uint64_t>(4 * v + l);
      c0[v][l] = counter & kLow, c1[v][l] = counter >> 32;
    }
  std::uint64_t k0 = static_cast<std::uint32_t>(seed), k1 = static_cast<std::uint32_t>(seed >> 32);
  for (int round = 0; round < 10; ++round) {
    for (int v = 0; v < kVectors; ++v) {
      const U64x4 p0 = product(c0[v], kMul0), p1 = product(c2[v], kMul1);
      const U64x4 n0 = (p1 >> 32) ^ c1[v] ^ k0, n2 = (p0 >> 32) ^ c3[v] ^ k1;
      c1[v] = p1 & kLow, c3[v] = p0 & kLow;
      c0[v] = n0, c2[v] = n2;
    }
    k0 = (k0 + kWeyl0) & kLow, k1 = (k1 + kWeyl1) & kLow;
  }
  for (int v = 0; v < kVectors; ++v)
    for (int l = 0; l < 4; ++l)
      w0[4 * v + l] = static_cast<std::uint32_t>(c0[v][l]), w1[4 * v + l] = static_cast<std::uint32_t>(c1[v][l]);
#else
  std::uint64_t c0[kPhiloxLanes], c1[kPhiloxLanes], c2[kPhiloxLanes] = {}, c3[kPhiloxLanes] = {};
  for (int l = 0; l < kPhiloxLanes; ++l) {
    const std::uint64_t counter = first_counter + static_cast<std::uint64_t>(l);
    c0[l] = counter & kLow, c1[l] = counter >> 32;
  }
  std::uint32_t k0 = static_cast<std::uint32_t>(seed), k1 = static_cast<std::uint32_t>(seed >> 32);
  for (int round = 0; round < 10; ++round) {
    for (int l = 0; l < kPhiloxLanes; ++l) {
      const std::uint64_t p0 = kMul0 * c0[l], p1 = kMul1 * c2[l];
      const std::uint64_t n0 = (p1 >> 32) ^ c1[l] ^ k0, n2 = (p0 >> 32) ^ c3[l] ^ k1;
      c1[l] = p1 & kLow, c3[l] = p0 & kLow;
      c0[l] = n0, c2[l] = n2;
    }
    k0 += kWeyl0, k1 += kWeyl1;
  }
  for (int l = 0; l < kPhiloxLanes; ++l) w0[l] = static_cast<std::uint32_t>(c0[l]), w1[l] = static_cast<std::uint32_t>(c1[l]);
#endif
}

// The 53 random bits unit_open takes from two words.
std::uint64_t unit_bits(std::uint32_t hi, std::uint32_t lo) {
  return ((static_cast<std::uint64_t>(hi) << 32) | lo) >> 11;
}

// The number of 53-bit values b with unit_open's (b + 0.5) * 2^-53 < p. That value only grows with b, so
// unit_open(hi, lo) < p exactly when unit_bits(hi, lo) is below this bound: found by bisection over the
// same double expression, so the integer test keeps every draw's outcome.
std::uint64_t unit_bound(double p) {
  const auto below = [p](std::uint64_t b) { return (static_cast<double>(b) + 0.5) * 0x1.0p-53 < p; };
  std::uint64_t lo = 0, hi = std::uint64_t{1} << 53;  // below(b) for b < lo; not for b >= hi
  while (lo < hi) {
    const std::uint64_t mid = lo + (hi - lo) / 2;
    if (below(mid))
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

// Standard normal for element i, attempt j (Box–Muller on one Philox block).
double standard_normal(std::uint64_t seed, std::uint64_t i, std::uint64_t attempt) {
  std::uint32_t w[4];
  random::Philox4x32::generate(seed, i, attempt, w);
  double u1 = unit_open(w[0], w[1]), u2 = unit_open(w[2], w[3]);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

template <class Fn>
Tensor fill_elements(const Shape& shape, DType dtype, const char* op, Fn value_of, std::uint64_t first_element = 0) {
  Tensor t = Tensor::empty(shape, dtype);
  detail::dispatch_all(dtype, [&](auto tag) {
    using T = decltype(tag);
    T* p = t.data<T>();
    parallel::for_each_chunk(0, t.numel(), 16384, [&](std::int64_t, std::int64_t b, std::int64_t e) {
      for (std::int64_t i = b; i < e; ++i) p[i] = static_cast<T>(value_of(first_element + static_cast<std::uint64_t>(i)));
    });
  });
  (void)op;
  return t;
}

void require_finite(double v, const char* op, const char* arg) {
  if (!std::isfinite(v)) throw ValueError(fmt::format("{}: {} must be finite, got {}", op, arg, v));
}

}  // namespace

void set_random_seed(std::uint64_t seed) {
  g_seed.store(seed);
  g_draws.store(0);
}

namespace random {

void Philox4x32::generate(std::uint64_t seed, std::uint64_t counter_lo, std::uint64_t counter_hi, std::uint32_t out[4]) {
  constexpr std::uint32_t kMul0 = 0xD2511F53, kMul1 = 0xCD9E8D57, kWeyl0 = 0x9E3779B9, kWeyl1 = 0xBB67AE85;
  std::uint32_t c0 = static_cast<std::uint32_t>(counter_lo), c1 = static_cast<std::uint32_t>(counter_lo >> 32);
  std::uint32_t c2 = static_cast<std::uint32_t>(counter_hi), c3 = static_cast<std::uint32_t>(counter_hi >> 32);
  std::uint32_t k0 = static_cast<std::uint32_t>(seed), k1 = static_cast<std::uint32_t>(seed >> 32);
  for (int round = 0; round < 10; ++round) {
    std::uint64_t p0 = static_cast<std::uint64_t>(kMul0) * c0, p1 = static_cast<std::uint64_t>(kMul1) * c2;
    std::uint32_t n0 = static_cast<std::uint32_t>(p1 >> 32) ^ c1 ^ k0;
    std::uint32_t n1 = static_cast<std::uint32_t>(p1);
    std::uint32_t n2 = static_cast<std::uint32_t>(p0 >> 32) ^ c3 ^ k1;
    std::uint32_t n3 = static_cast<std::uint32_t>(p0);
    c0 = n0, c1 = n1, c2 = n2, c3 = n3;
    k0 += kWeyl0, k1 += kWeyl1;
  }
  out[0] = c0, out[1] = c1, out[2] = c2, out[3] = c3;
}

std::uint64_t next_seed() { return splitmix64(g_seed.load() ^ splitmix64(g_draws.fetch_add(1) + 1)); }

Tensor normal(const Shape& shape, double mean, double stddev, std::uint64_t seed, DType dtype, std::uint64_t first_element) {
  require_finite(mean, "random_normal", "mean");
  if (!(stddev >= 0) || !std::isfinite(stddev))
    throw ValueError(fmt::format("random_normal: stddev must be finite and >= 0, got {}", stddev));
  return fill_elements(shape, dtype, "random_normal",
                       [&](std::uint64_t i) { return mean + stddev * standard_normal(seed, i, 0); }, first_element);
}

Tensor uniform(const Shape& shape, double low, double high, std::uint64_t seed, DType dtype) {
  require_finite(low, "random_uniform", "minval");
  require_finite(high, "random_uniform", "maxval");
  if (!(low <= high)) throw ValueError(fmt::format("random_uniform: minval {} is greater than maxval {}", low, high));
  return fill_elements(shape, dtype, "random_uniform", [&](std::uint64_t i) {
    std::uint32_t w[4];
    Philox4x32::generate(seed, i, 0, w);
    return low + (high - low) * unit_open(w[0], w[1]);
  });
}

Tensor truncated_normal(const Shape& shape, double mean, double stddev, std::uint64_t seed, DType dtype) {
  require_finite(mean, "truncated_normal", "mean");
  if (!(stddev >= 0) || !std::isfinite(stddev))
    throw ValueError(fmt::format("truncated_normal: stddev must be finite and >= 0, got {}", stddev));
  return fill_elements(shape, dtype, "truncated_normal", [&](std::uint64_t i) {
    for (std::uint64_t attempt = 0;; ++attempt) {
      double z = standard_normal(seed, i, attempt);
      if (std::abs(z) <= 2.0) return mean + stddev * z;
    }
  });
}

Tensor bernoulli(const Shape& shape, double p, std::uint64_t seed, DType dtype, std::uint64_t first_element) {
  if (!(p >= 0 && p <= 1)) throw ValueError(fmt::format("bernoulli: p must be in [0, 1], got {}", p));
  Tensor t = Tensor::empty(shape, dtype);
  detail::dispatch_all(dtype, [&](auto tag) {
    using T = decltype(tag);
    T* out = t.data<T>();
    const std::uint64_t bound = unit_bound(p);  // unit_open(w0, w1) < p  <=>  unit_bits(w0, w1) < bound
    parallel::for_each_chunk(0, t.numel(), 16384, [&](std::int64_t, std::int64_t b, std::int64_t e) {
      std::int64_t i = b;
      std::uint32_t w0[kPhiloxLanes], w1[kPhiloxLanes];
      for (; i + kPhiloxLanes <= e; i += kPhiloxLanes) {
        philox_first_words(seed, first_element + static_cast<std::uint64_t>(i), w0, w1);
        for (int l = 0; l < kPhiloxLanes; ++l) out[i + l] = unit_bits(w0[l], w1[l]) < bound ? T(1) : T(0);
      }
      for (; i < e; ++i) {
        std::uint32_t w[4];
        Philox4x32::generate(seed, first_element + static_cast<std::uint64_t>(i), 0, w);
        out[i] = unit_open(w[0], w[1]) < p ? T(1) : T(0);
      }
    });
  });
  return t;
}

}  // namespace random
}  // namespace keel
