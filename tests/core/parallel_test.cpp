#include <catch2/catch.hpp>

#include <stdlib.h>

#include <atomic>
#include <thread>
#include <vector>

#include "../support/stderr_capture.h"
#include "keel/core/error.h"
#include "keel/core/parallel.h"

using Catch::Matchers::Contains;

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

TEST_CASE("KEEL_NUM_THREADS must be a whole positive number: anything else warns and uses every hardware thread") {
  const unsigned hw = std::thread::hardware_concurrency();
  const int all = hw == 0 ? 1 : static_cast<int>(hw);
  for (const char* value : {"1.5", "2x", "0", "-3", "", " 2", "99999999999999999999"}) {
    INFO("KEEL_NUM_THREADS='" << value << "'");
    ::setenv("KEEL_NUM_THREADS", value, 1);
    keel::test::StderrCapture err;
    keel::set_num_threads(0);
    CHECK(keel::num_threads() == all);
    CHECK_THAT(err.text(), Contains("KEEL_NUM_THREADS") && Contains("not a positive integer"));
  }
  ::setenv("KEEL_NUM_THREADS", "3", 1);
  {
    keel::test::StderrCapture err;
    keel::set_num_threads(0);
    CHECK(keel::num_threads() == 3);
    CHECK(err.text().empty());
  }
  ::unsetenv("KEEL_NUM_THREADS");
  keel::set_num_threads(0);
}

TEST_CASE("an empty range runs nothing") {
  std::atomic<int> calls{0};
  keel::parallel::for_each_chunk(5, 5, 16, [&](std::int64_t, std::int64_t, std::int64_t) { calls++; });
  CHECK(calls == 0);
}
