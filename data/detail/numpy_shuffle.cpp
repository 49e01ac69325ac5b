#include "keel/data/detail/numpy_shuffle.h"

#include <fmt/format.h>

#include <numeric>
#include <random>

#include "keel/core/error.h"

namespace keel::data::detail {
namespace {

// NumPy's random_interval for max < 2^32: the smallest all-ones mask covering max, then draws until
// (draw & mask) <= max.
std::uint32_t random_interval(std::mt19937& rng, std::uint32_t max) {
  if (max == 0) return 0;
  std::uint32_t mask = max;
  mask |= mask >> 1;
  mask |= mask >> 2;
  mask |= mask >> 4;
  mask |= mask >> 8;
  mask |= mask >> 16;
  std::uint32_t value = 0;
  while ((value = static_cast<std::uint32_t>(rng()) & mask) > max) {
  }
  return value;
}

}  // namespace

std::vector<std::int64_t> numpy_legacy_permutation(std::int64_t n, std::uint64_t seed) {
  if (seed > 0xFFFFFFFFull) throw ValueError(fmt::format("seed must be between 0 and 2**32 - 1 (as NumPy's RandomState needs), got {}", seed));
  if (n < 0) throw ValueError(fmt::format("numpy_legacy_permutation: n must be >= 0, got {}", n));
  if (n > 0xFFFFFFFFll) throw ValueError(fmt::format("numpy_legacy_permutation: n must be below 2^32, got {}", n));
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), std::int64_t{0});
  std::mt19937 rng(static_cast<std::uint32_t>(seed));  // std::mt19937's seeding is init_genrand
  for (std::int64_t i = n - 1; i > 0; --i) {
    const std::uint32_t j = random_interval(rng, static_cast<std::uint32_t>(i));
    std::swap(order[static_cast<std::size_t>(i)], order[j]);
  }
  return order;
}

}  // namespace keel::data::detail
