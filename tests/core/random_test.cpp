#include <catch2/catch.hpp>

#include <cmath>

#include "keel/core/error.h"
#include "keel/core/parallel.h"
#include "keel/core/random.h"

using keel::DType;
using keel::Tensor;

namespace {
struct Stats {
  double mean = 0, std = 0, min = 1e300, max = -1e300;
};
Stats stats(const Tensor& t) {
  auto v = t.to_vector();
  Stats s;
  for (double e : v) {
    s.mean += e;
    s.min = std::min(s.min, e);
    s.max = std::max(s.max, e);
  }
  s.mean /= v.size();
  for (double e : v) s.std += (e - s.mean) * (e - s.mean);
  s.std = std::sqrt(s.std / v.size());
  return s;
}
}  // namespace

TEST_CASE("Philox-4x32-10 matches the Random123 known-answer vectors") {
  std::uint32_t out[4];
  keel::random::Philox4x32::generate(0, 0, 0, out);
  CHECK(out[0] == 0x6627e8d5u);
  CHECK(out[1] == 0xe169c58du);
  CHECK(out[2] == 0xbc57ac4cu);
  CHECK(out[3] == 0x9b00dbd8u);
  // ctr = all 0xffffffff, key = all 0xffffffff.
  keel::random::Philox4x32::generate(~0ull, ~0ull, ~0ull, out);
  CHECK(out[0] == 0x408f276du);
  CHECK(out[1] == 0x41c83b0eu);
  CHECK(out[2] == 0xa20bc7c6u);
  CHECK(out[3] == 0x6d5451fdu);
}

TEST_CASE("normal, uniform and truncated normal draws have the documented statistics") {
  Stats n = stats(keel::random::normal({400000}, 2.0, 3.0, 1, DType::float64));
  CHECK(n.mean == Approx(2.0).margin(0.03));
  CHECK(n.std == Approx(3.0).margin(0.03));
  Stats u = stats(keel::random::uniform({400000}, -1.0, 3.0, 2, DType::float64));
  CHECK(u.min >= -1.0);
  CHECK(u.max < 3.0);
  CHECK(u.mean == Approx(1.0).margin(0.01));
  CHECK(u.std == Approx(4.0 / std::sqrt(12.0)).margin(0.01));
  Stats t = stats(keel::random::truncated_normal({400000}, 0.0, 2.0, 3, DType::float64));
  CHECK(t.min >= -4.0);
  CHECK(t.max <= 4.0);
  CHECK(t.mean == Approx(0.0).margin(0.02));
  // A standard normal truncated to [-2, 2] has std 0.87962566103423978.
  CHECK(t.std == Approx(2.0 * 0.87962566103423978).margin(0.01));
  Stats b = stats(keel::random::bernoulli({400000}, 0.3, 4, DType::float64));
  CHECK(b.mean == Approx(0.3).margin(0.005));
}

TEST_CASE("the same seed gives the same values on any thread count - another seed differs") {
  keel::set_num_threads(1);
  auto one = keel::random::normal({100000}, 0, 1, 42).to_vector();
  keel::set_num_threads(2);
  auto two = keel::random::normal({100000}, 0, 1, 42).to_vector();
  keel::set_num_threads(0);
  CHECK(one == two);
  CHECK(keel::random::normal({100000}, 0, 1, 43).to_vector() != one);
}

TEST_CASE("set_random_seed makes next_seed reproducible") {
  keel::set_random_seed(5);
  auto a = keel::random::next_seed(), b = keel::random::next_seed();
  keel::set_random_seed(5);
  CHECK(keel::random::next_seed() == a);
  CHECK(keel::random::next_seed() == b);
  CHECK(a != b);
}

TEST_CASE("bad distribution parameters are value errors") {
  REQUIRE_THROWS_AS(keel::random::normal({2}, 0, -1, 1), keel::ValueError);
  REQUIRE_THROWS_AS(keel::random::uniform({2}, 1, 0, 1), keel::ValueError);
  REQUIRE_THROWS_AS(keel::random::bernoulli({2}, 1.5, 1), keel::ValueError);
}

// bernoulli runs Philox over 16 counters at a time; every element must still be the scalar
// generator's draw for its own counter: element i keeps iff unit(words 0, 1 of Philox(seed, first + i)) < p.
TEST_CASE("bernoulli draws element i from Philox at counter first_element + i") {
  const std::uint64_t seed = 0x1234567890abcdefULL, first = (std::uint64_t{1} << 32) - 7;  // the counter carries into its high word
  const double p = 0.3;
  Tensor mask = keel::random::bernoulli({37, 3}, p, seed, DType::float64, first);  // 111: not a multiple of 16
  std::vector<double> got = mask.to_vector();
  for (std::size_t i = 0; i < got.size(); ++i) {
    std::uint32_t w[4];
    keel::random::Philox4x32::generate(seed, first + i, 0, w);
    const std::uint64_t bits = ((static_cast<std::uint64_t>(w[0]) << 32) | w[1]) >> 11;
    const double u = (static_cast<double>(bits) + 0.5) * 0x1.0p-53;
    INFO("element " << i);
    REQUIRE(got[i] == (u < p ? 1.0 : 0.0));
  }
}

// bernoulli compares the 53 bits as an integer against a bound found once per call; with p set to one
// element's own draw u (dropped: u < u is false) and to the next double above it (kept), every element must
// still match the double comparison.
TEST_CASE("bernoulli keeps exactly the draws below p when p equals a draw") {
  const std::uint64_t seed = 77, first = 1000;
  const auto draw = [&](std::uint64_t i) {
    std::uint32_t w[4];
    keel::random::Philox4x32::generate(seed, first + i, 0, w);
    const std::uint64_t bits = ((static_cast<std::uint64_t>(w[0]) << 32) | w[1]) >> 11;
    return (static_cast<double>(bits) + 0.5) * 0x1.0p-53;
  };
  const std::int64_t n = 50;
  for (std::uint64_t at : {3, 17, 40})
    for (double p : {draw(at), std::nextafter(draw(at), 2.0), std::nextafter(draw(at), 0.0)}) {
      const std::vector<double> got = keel::random::bernoulli({n}, p, seed, DType::float64, first).to_vector();
      for (std::int64_t i = 0; i < n; ++i) {
        INFO("p = " << p << ", element " << i);
        REQUIRE(got[static_cast<std::size_t>(i)] == (draw(static_cast<std::uint64_t>(i)) < p ? 1.0 : 0.0));
      }
    }
  for (double p : {0.0, 1.0, 0x1.0p-53, 0.5}) {
    const std::vector<double> got = keel::random::bernoulli({n}, p, seed, DType::float64, first).to_vector();
    for (std::int64_t i = 0; i < n; ++i)
      REQUIRE(got[static_cast<std::size_t>(i)] == (draw(static_cast<std::uint64_t>(i)) < p ? 1.0 : 0.0));
  }
}

TEST_CASE("normal with first_element gives that slice of the larger draw") {
  const std::vector<double> whole = keel::random::normal({10, 7}, 1, 2, 99, DType::float64).to_vector();
  const std::vector<double> tail = keel::random::normal({4, 7}, 1, 2, 99, DType::float64, 6 * 7).to_vector();
  CHECK(tail == std::vector<double>(whole.begin() + 6 * 7, whole.end()));
}
