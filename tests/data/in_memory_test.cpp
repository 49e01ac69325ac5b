#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <vector>

#include "keel/core/error.h"
#include "keel/data/in_memory.h"

using Catch::Matchers::Contains;
using keel::data::batch_ranges;
using keel::data::shuffled_indices;
using keel::data::split_last_fraction;
using Ranges = std::vector<std::pair<std::int64_t, std::int64_t>>;

namespace {

// The documented algorithm written out independently: the acceptance bound computed in 128 bits.
std::vector<std::int64_t> reference_shuffle(std::int64_t n, std::uint64_t seed) {
  std::vector<std::int64_t> v;
  for (std::int64_t i = 0; i < n; ++i) v.push_back(i);
  std::mt19937_64 rng(seed);
  const unsigned __int128 two64 = static_cast<unsigned __int128>(1) << 64;
  for (std::int64_t i = n - 1; i >= 1; --i) {
    const unsigned __int128 bound = static_cast<unsigned __int128>(i + 1);
    const unsigned __int128 accept_below = two64 - two64 % bound;
    unsigned __int128 r = rng();
    while (r >= accept_below) r = rng();
    std::swap(v[static_cast<std::size_t>(i)], v[static_cast<std::size_t>(r % bound)]);
  }
  return v;
}

bool is_permutation_of_range(std::vector<std::int64_t> v) {
  std::sort(v.begin(), v.end());
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v[i] != static_cast<std::int64_t>(i)) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("shuffled_indices is the documented seeded Fisher-Yates", "[data]") {
  for (std::int64_t n : {0, 1, 2, 3, 10, 1000}) {
    for (std::uint64_t seed : {0ull, 1ull, 42ull, 0xDEADBEEFCAFEull}) {
      INFO("n " << n << " seed " << seed);
      const std::vector<std::int64_t> p = shuffled_indices(n, seed);
      CHECK(p.size() == static_cast<std::size_t>(n));
      CHECK(is_permutation_of_range(p));
      CHECK(p == reference_shuffle(n, seed));
      CHECK(p == shuffled_indices(n, seed));
    }
  }
  CHECK(shuffled_indices(1000, 1) != shuffled_indices(1000, 2));
}

TEST_CASE("shuffled_indices draws every permutation equally often", "[data]") {
  // 24 permutations of 4 elements over 48000 seeds: 2000 expected each. The chi-square statistic has 23
  // degrees of freedom; 60 is beyond its 99.99th percentile (about 55), while a biased shuffle (drawing j
  // from [0, n) instead of [0, i]) scores about 1400.
  std::map<std::vector<std::int64_t>, int> counts;
  const int trials = 48000;
  for (int s = 0; s < trials; ++s) ++counts[shuffled_indices(4, static_cast<std::uint64_t>(s))];
  REQUIRE(counts.size() == 24);
  double chi2 = 0;
  const double expected = trials / 24.0;
  for (const auto& [perm, c] : counts) chi2 += (c - expected) * (c - expected) / expected;
  CHECK(chi2 < 60.0);
}

TEST_CASE("shuffled_indices refuses a negative count", "[data]") {
  REQUIRE_THROWS_AS(shuffled_indices(-1, 0), keel::ValueError);
  REQUIRE_THROWS_WITH(shuffled_indices(-1, 0), Contains("shuffled_indices") && Contains("argument n") && Contains("-1"));
}

TEST_CASE("split_last_fraction splits at floor(n * (1 - fraction)) as Keras does", "[data]") {
  auto same = [](keel::data::Split s, std::int64_t tb, std::int64_t te, std::int64_t vb, std::int64_t ve) {
    return s.train_begin == tb && s.train_end == te && s.val_begin == vb && s.val_end == ve;
  };
  CHECK(same(split_last_fraction(10, 0.2), 0, 8, 8, 10));
  CHECK(same(split_last_fraction(7, 0.3), 0, 4, 4, 7));   // 7 * 0.7 = 4.9
  CHECK(same(split_last_fraction(3, 0.5), 0, 1, 1, 3));   // 1.5
  CHECK(same(split_last_fraction(10, 0.05), 0, 9, 9, 10));  // 9.5
  CHECK(same(split_last_fraction(10, 0.7), 0, 3, 3, 10));  // 10 * (1 - 0.7) = 3.0000000000000004
  CHECK(same(split_last_fraction(60000, 0.2), 0, 48000, 48000, 60000));
  CHECK(same(split_last_fraction(5, 0.0), 0, 5, 5, 5));
  CHECK(same(split_last_fraction(0, 0.0), 0, 0, 0, 0));
}

TEST_CASE("split_last_fraction refuses bad fractions and splits that leave a side empty", "[data]") {
  for (double bad : {-0.1, 1.0, 1.5, std::nan("")}) {
    INFO(bad);
    REQUIRE_THROWS_AS(split_last_fraction(10, bad), keel::ValueError);
    REQUIRE_THROWS_WITH(split_last_fraction(10, bad), Contains("argument fraction"));
  }
  // Keras raises here too: 1 sample with 0.5 puts the split at 0; 10 samples with 1e-20 at 10
  // (1 - 1e-20 rounds to 1).
  REQUIRE_THROWS_WITH(split_last_fraction(1, 0.5), Contains("1 samples") && Contains("fraction 0.5"));
  REQUIRE_THROWS_AS(split_last_fraction(10, 1e-20), keel::ValueError);
  CHECK(split_last_fraction(10, 0.01).train_end == 9);  // 9.9
  REQUIRE_THROWS_WITH(split_last_fraction(-3, 0.1), Contains("argument n") && Contains("-3"));
}

TEST_CASE("batch_ranges covers 0..n-1 and keeps the last partial batch", "[data]") {
  CHECK(batch_ranges(10, 3) == Ranges{{0, 3}, {3, 6}, {6, 9}, {9, 10}});
  CHECK(batch_ranges(9, 3) == Ranges{{0, 3}, {3, 6}, {6, 9}});
  CHECK(batch_ranges(2, 5) == Ranges{{0, 2}});
  CHECK(batch_ranges(1, 1) == Ranges{{0, 1}});
  CHECK(batch_ranges(0, 4).empty());
  const std::int64_t big = std::numeric_limits<std::int64_t>::max();
  CHECK(batch_ranges(big, big - 1) == Ranges{{0, big - 1}, {big - 1, big}});
}

TEST_CASE("batch_ranges refuses a non-positive batch size and a negative count", "[data]") {
  for (std::int64_t bad : {0, -4}) {
    REQUIRE_THROWS_AS(batch_ranges(10, bad), keel::ValueError);
    REQUIRE_THROWS_WITH(batch_ranges(10, bad), Contains("argument batch_size") && Contains(std::to_string(bad)));
  }
  REQUIRE_THROWS_WITH(batch_ranges(-1, 2), Contains("batch_ranges") && Contains("argument n"));
}
