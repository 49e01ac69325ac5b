#include <catch2/catch.hpp>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "keel/core/kernels/bfloat16.h"
#include "keel/core/parallel.h"

namespace kernels = keel::kernels;

namespace {

float from_bits(std::uint32_t u) { return std::bit_cast<float>(u); }
std::uint32_t bits(float x) { return std::bit_cast<std::uint32_t>(x); }

// The nearest bfloat16 by distance, computed in double (exact for floats): the two bfloat16 neighbours of x
// are its truncation and the next value away from zero; the nearer wins, a tie goes to the even one. Past
// the largest bfloat16 the upper neighbour is infinity, chosen as IEEE rounding chooses it: when x is at
// least halfway to 2^128.
std::uint32_t nearest_bfloat16_bits(float x) {
  const std::uint32_t low = bits(x) & 0xFFFF0000u;
  const std::uint32_t high = low + 0x10000u;
  const double lo = std::abs(static_cast<double>(from_bits(low)));
  const double hi = (high & 0x7FFFFFFFu) >= 0x7F800000u ? std::ldexp(1.0, 128) : std::abs(static_cast<double>(from_bits(high)));
  const double v = std::abs(static_cast<double>(x));
  if (v - lo < hi - v) return low;
  if (v - lo > hi - v) return (high & 0x7FFFFFFFu) >= 0x7F800000u ? (high & 0x80000000u) | 0x7F800000u : high;
  const bool low_even = ((low >> 16) & 1u) == 0;
  return low_even ? low : ((high & 0x7FFFFFFFu) >= 0x7F800000u ? (high & 0x80000000u) | 0x7F800000u : high);
}

}  // namespace

TEST_CASE("bfloat16 rounding keeps 8 significant bits, ties to even", "[kernels][bfloat16]") {
  CHECK(kernels::round_to_bfloat16(1.0f) == 1.0f);
  CHECK(kernels::round_to_bfloat16(1.0f + 0x1p-8f) == 1.0f);                       // tie, 1.0 is even
  CHECK(kernels::round_to_bfloat16(1.0f + 3 * 0x1p-8f) == 1.0f + 0x1p-6f);         // tie, goes up to even
  CHECK(kernels::round_to_bfloat16(1.0f + 0x1p-8f + 0x1p-20f) == 1.0f + 0x1p-7f);  // just past the tie
  CHECK(kernels::round_to_bfloat16(1.0f + 0x1p-8f - 0x1p-20f) == 1.0f);            // just short of it
  CHECK(kernels::round_to_bfloat16(-3.0f - 0x1p-7f) == -3.0f);                     // -(1.5 + 2^-8) * 2, a tie
  CHECK(kernels::round_to_bfloat16(0.1f) == 0.10009765625f);                       // 0x3DCCCCCD -> 0x3DCD
  // Signed zero and the smallest subnormals.
  CHECK(bits(kernels::round_to_bfloat16(-0.0f)) == 0x80000000u);
  CHECK(bits(kernels::round_to_bfloat16(from_bits(0x00000001u))) == 0u);
  CHECK(bits(kernels::round_to_bfloat16(from_bits(0x00008000u))) == 0u);        // tie to the even zero
  CHECK(bits(kernels::round_to_bfloat16(from_bits(0x00018000u))) == 0x00020000u);  // tie, odd below: up
}

TEST_CASE("bfloat16 rounding: overflow to infinity, infinities and NaNs", "[kernels][bfloat16]") {
  const float max = std::numeric_limits<float>::max();
  CHECK(kernels::round_to_bfloat16(max) == std::numeric_limits<float>::infinity());
  CHECK(kernels::round_to_bfloat16(-max) == -std::numeric_limits<float>::infinity());
  CHECK(bits(kernels::round_to_bfloat16(from_bits(0x7F7F0000u))) == 0x7F7F0000u);  // the largest bfloat16
  CHECK(bits(kernels::round_to_bfloat16(from_bits(0x7F7F7FFFu))) == 0x7F7F0000u);  // below the tie to 2^128
  CHECK(std::isinf(kernels::round_to_bfloat16(std::numeric_limits<float>::infinity())));
  // A NaN whose payload lives only in the low bits must not truncate to infinity.
  for (std::uint32_t nan : {0x7F800001u, 0x7FC00000u, 0xFF800001u, 0x7FFFFFFFu}) {
    const float r = kernels::round_to_bfloat16(from_bits(nan));
    CHECK(std::isnan(r));
    CHECK((bits(r) & 0xFFFFu) == 0);
    CHECK(std::signbit(r) == std::signbit(from_bits(nan)));
  }
}

TEST_CASE("bfloat16 rounding matches the nearest value by distance on random bit patterns", "[kernels][bfloat16]") {
  std::mt19937 rng(7);
  std::vector<float> x(300'000);  // several of the kernel's chunks
  for (float& v : x) {
    std::uint32_t u = static_cast<std::uint32_t>(rng());
    if ((u & 0x7F800000u) == 0x7F800000u) u &= 0xBFFFFFFFu;  // finite only here; NaNs are tested above
    v = from_bits(u);
  }
  // Ties and their neighbours, which random bits rarely hit.
  for (std::size_t i = 0; i < 3000; ++i) x[i] = from_bits((bits(x[i]) & 0xFFFF0000u) | (0x7FFFu + i % 3));
  for (int threads : {1, 2}) {
    keel::set_num_threads(threads);
    std::vector<float> y(x.size());
    kernels::round_to_bfloat16(x.data(), y.data(), static_cast<std::int64_t>(x.size()));
    std::size_t wrong = 0;
    for (std::size_t i = 0; i < x.size(); ++i) wrong += bits(y[i]) != nearest_bfloat16_bits(x[i]);
    CHECK(wrong == 0);
    std::vector<float> in_place = x;
    kernels::round_to_bfloat16(in_place.data(), in_place.data(), static_cast<std::int64_t>(x.size()));
    CHECK(in_place == y);
  }
  keel::set_num_threads(0);
}
