#include "keel/data/detail/numpy_shuffle.h"

#include <catch2/catch.hpp>

#include "keel/core/error.h"

using keel::data::detail::numpy_legacy_permutation;

TEST_CASE("numpy_legacy_permutation reproduces numpy.random.RandomState(seed).permutation(n)", "[data][image]") {
  // Values printed by NumPy: np.random.RandomState(seed).permutation(n).
  CHECK(numpy_legacy_permutation(10, 0) == std::vector<std::int64_t>{2, 8, 4, 9, 1, 6, 7, 3, 0, 5});
  CHECK(numpy_legacy_permutation(5, 1) == std::vector<std::int64_t>{2, 1, 4, 0, 3});
  CHECK(numpy_legacy_permutation(12, 42) == std::vector<std::int64_t>{10, 9, 0, 8, 5, 2, 1, 11, 4, 7, 3, 6});
  CHECK(numpy_legacy_permutation(0, 3).empty());
  CHECK(numpy_legacy_permutation(1, 3) == std::vector<std::int64_t>{0});
  CHECK_THROWS_AS(numpy_legacy_permutation(3, 1ull << 32), keel::ValueError);
}
