#include "keel/data/in_memory.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <numeric>
#include <random>

#include "keel/core/error.h"
#include "keel/data/detail/uniform_below.h"

namespace keel::data {
namespace {

void check_count(const char* op, std::int64_t n) {
  if (n < 0) throw ValueError(fmt::format("{}: argument n must be >= 0, got {}", op, n));
}

}  // namespace

std::vector<std::int64_t> shuffled_indices(std::int64_t n, std::uint64_t seed) {
  check_count("shuffled_indices", n);
  std::vector<std::int64_t> indices(static_cast<std::size_t>(n));
  std::iota(indices.begin(), indices.end(), std::int64_t{0});
  std::mt19937_64 rng(seed);
  for (std::int64_t i = n - 1; i > 0; --i) {
    const auto j = static_cast<std::int64_t>(detail::uniform_below(rng, static_cast<std::uint64_t>(i) + 1));
    std::swap(indices[static_cast<std::size_t>(i)], indices[static_cast<std::size_t>(j)]);
  }
  return indices;
}

Split split_last_fraction(std::int64_t n, double fraction) {
  check_count("split_last_fraction", n);
  if (!(fraction >= 0.0 && fraction < 1.0)) {
    throw ValueError(fmt::format("split_last_fraction: argument fraction must be in [0, 1), got {}", fraction));
  }
  if (fraction == 0.0) return Split{0, n, n, n};
  const auto split_at = static_cast<std::int64_t>(std::floor(static_cast<double>(n) * (1.0 - fraction)));
  if (split_at == 0 || split_at == n) {
    throw ValueError(fmt::format(
        "split_last_fraction: {} samples cannot be split into non-empty training and validation sets with "
        "fraction {} (the split point floor(n * (1 - fraction)) is {})",
        n, fraction, split_at));
  }
  return Split{0, split_at, split_at, n};
}

std::vector<std::pair<std::int64_t, std::int64_t>> batch_ranges(std::int64_t n, std::int64_t batch_size) {
  check_count("batch_ranges", n);
  if (batch_size <= 0) {
    throw ValueError(fmt::format("batch_ranges: argument batch_size must be > 0, got {}", batch_size));
  }
  std::vector<std::pair<std::int64_t, std::int64_t>> ranges;
  ranges.reserve(static_cast<std::size_t>(n / batch_size + 1));
  for (std::int64_t begin = 0; begin < n;) {
    const std::int64_t end = n - begin > batch_size ? begin + batch_size : n;  // no overflow near INT64_MAX
    ranges.emplace_back(begin, end);
    begin = end;
  }
  return ranges;
}

}  // namespace keel::data
