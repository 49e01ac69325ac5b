#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>

#include "keel/core/error.h"
#include "keel/core/shape.h"
#include "keel/core/tensor.h"

using Catch::Matchers::Contains;
using keel::Shape;

TEST_CASE("broadcast_shapes follows NumPy's rules") {
  CHECK(keel::broadcast_shapes({3, 1}, {1, 4}, "add") == Shape{3, 4});
  CHECK(keel::broadcast_shapes({4}, {2, 3, 4}, "add") == Shape{2, 3, 4});
  CHECK(keel::broadcast_shapes({}, {2}, "add") == Shape{2});
  CHECK(keel::broadcast_shapes({0, 1}, {1, 5}, "add") == Shape{0, 5});
}

TEST_CASE("broadcast_shapes names the op, both shapes and the failing axis") {
  REQUIRE_THROWS_AS(keel::broadcast_shapes({3, 4}, {2, 4}, "add"), keel::ShapeError);
  REQUIRE_THROWS_WITH(keel::broadcast_shapes({3, 4}, {2, 4}, "add"),
                      Contains("add") && Contains("[3, 4]") && Contains("[2, 4]") && Contains("axis 0"));
}

TEST_CASE("checked_numel refuses shapes whose element count overflows int64") {
  std::int64_t big = std::int64_t{1} << 32;
  REQUIRE_THROWS_AS(keel::checked_numel({big, big, big}, "zeros"), keel::ShapeError);
  REQUIRE_THROWS_WITH(keel::checked_numel({big, big, big}, "zeros"), Contains("zeros") && Contains("int64"));
  CHECK(keel::checked_numel({2, 3, 4}) == 24);
  CHECK(keel::checked_numel({}) == 1);
  CHECK(keel::checked_numel({5, 0}) == 0);
  REQUIRE_THROWS_AS(keel::checked_numel({2, -1}), keel::ShapeError);
  // A zero anywhere makes zero elements, even after sizes whose product alone would overflow (found by
  // keel_fuzz_npy: a Fortran-order header whose zero came last once reversed).
  CHECK(keel::checked_numel({big, big, big, 0}) == 0);
  CHECK(keel::checked_numel({0, big, big, big}) == 0);
  CHECK(keel::Tensor::empty({big, big, big, 0}, keel::DType::float32).numel() == 0);
  REQUIRE_THROWS_AS(keel::checked_numel({big, big, 0, -1}), keel::ShapeError);
}

TEST_CASE("normalize_axis accepts -rank up to rank-1 and names axis and rank otherwise") {
  CHECK(keel::normalize_axis(-1, 4, "sum") == 3);
  CHECK(keel::normalize_axis(0, 4, "sum") == 0);
  REQUIRE_THROWS_WITH(keel::normalize_axis(4, 4, "sum"), Contains("sum") && Contains("axis 4") && Contains("rank 4"));
  REQUIRE_THROWS_AS(keel::normalize_axis(-5, 4, "sum"), keel::ShapeError);
}

TEST_CASE("contiguous_strides are row-major element strides") {
  CHECK(keel::contiguous_strides({2, 3, 4}) == Shape{12, 4, 1});
  CHECK(keel::contiguous_strides({}) == Shape{});
}

TEST_CASE("contiguous_strides of a zero-element shape with huge dimensions do not overflow") {
  constexpr std::int64_t huge = std::int64_t{1} << 40;  // huge * huge does not fit in int64
  constexpr std::int64_t saturated = std::numeric_limits<std::int64_t>::max();
  CHECK(keel::contiguous_strides({0, huge, huge}) == Shape{saturated, huge, 1});
  CHECK(keel::contiguous_strides({huge, huge, 0}) == Shape{huge, 1, 1});
  CHECK(keel::contiguous_strides({3, 0, 2}) == Shape{2, 2, 1});
}
