#pragma once
// A uniform draw in [0, bound) that depends only on the generator's output (std::uniform_int_distribution
// differs between standard libraries).
#include <cstdint>
#include <limits>
#include <random>

namespace keel::data::detail {

// By rejection: a 64-bit draw r is accepted when r < 2^64 - (2^64 mod bound), and gives r mod bound.
inline std::uint64_t uniform_below(std::mt19937_64& rng, std::uint64_t bound) {
  const std::uint64_t rem = (std::numeric_limits<std::uint64_t>::max() % bound + 1) % bound;  // 2^64 mod bound
  const std::uint64_t last_accepted = std::numeric_limits<std::uint64_t>::max() - rem;
  std::uint64_t r = rng();
  while (r > last_accepted) r = rng();
  return r % bound;
}

}  // namespace keel::data::detail
