#include <catch2/catch.hpp>

#include <atomic>
#include <vector>

#include "keel/core/error.h"
#include "keel/core/parallel.h"

TEST_CASE("for_each_chunk covers the range once, in chunks fixed by the grain") {
  for (int threads : {1, 2, 3}) {
    keel::set_num_threads(threads);
    std::vector<int> hits(1000, 0);
    std::vector<std::int64_t> starts(keel::parallel::num_chunks(0, 1000, 64), -1);
    keel::parallel::for_each_chunk(0, 1000, 64, [&](std::int64_t c, std::int64_t b, std::int64_t e) {
      starts[c] = b;
      for (std::int64_t i = b; i < e; ++i) hits[i]++;
    });
    for (int h : hits) REQUIRE(h == 1);
    for (std::size_t c = 0; c < starts.size(); ++c) REQUIRE(starts[c] == static_cast<std::int64_t>(c) * 64);
  }
  keel::set_num_threads(0);
}

TEST_CASE("set_num_threads sets the count and refuses negatives") {
  keel::set_num_threads(1);
  CHECK(keel::num_threads() == 1);
  keel::set_num_threads(2);
  CHECK(keel::num_threads() == 2);
  REQUIRE_THROWS_AS(keel::set_num_threads(-1), keel::ValueError);
  keel::set_num_threads(0);
  CHECK(keel::num_threads() >= 1);
}

TEST_CASE("an empty range runs nothing") {
  std::atomic<int> calls{0};
  keel::parallel::for_each_chunk(5, 5, 16, [&](std::int64_t, std::int64_t, std::int64_t) { calls++; });
  CHECK(calls == 0);
}
