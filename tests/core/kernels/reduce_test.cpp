#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "keel/core/error.h"
#include "keel/core/kernels/reduce.h"
#include "keel/core/parallel.h"
#include "keel/core/random.h"

using Catch::Matchers::Contains;
using keel::DType;
using keel::Shape;
using keel::Tensor;
using namespace keel::kernels;

TEST_CASE("sum, mean, max and min over any axes, with and without keepdims") {
  Tensor a = Tensor::arange(0, 24).reshape({2, 3, 4});
  CHECK(reduce(ReduceOp::sum, a, {}, false).item() == 276);
  Tensor s0 = reduce(ReduceOp::sum, a, {0}, false);
  CHECK(s0.shape() == Shape{3, 4});
  CHECK(s0.at({1, 2}) == 6 + 18);
  Tensor s1 = reduce(ReduceOp::sum, a, {1}, true);
  CHECK(s1.shape() == Shape{2, 1, 4});
  CHECK(s1.at({1, 0, 3}) == 15 + 19 + 23);
  Tensor s02 = reduce(ReduceOp::sum, a, {0, -1}, false);
  CHECK(s02.to_vector() == std::vector<double>{0 + 1 + 2 + 3 + 12 + 13 + 14 + 15, 4 + 5 + 6 + 7 + 16 + 17 + 18 + 19,
                                               8 + 9 + 10 + 11 + 20 + 21 + 22 + 23});
  CHECK(reduce(ReduceOp::mean, a, {2}, false).at({1, 1}) == (16 + 17 + 18 + 19) / 4.0);
  CHECK(reduce(ReduceOp::max, a, {1}, false).to_vector() == std::vector<double>{8, 9, 10, 11, 20, 21, 22, 23});
  CHECK(reduce(ReduceOp::min, a.permute({2, 0, 1}), {0}, false).at({1, 2}) == 20);
}

TEST_CASE("reductions refuse repeated and out-of-range axes") {
  Tensor a = Tensor::zeros({2, 3});
  REQUIRE_THROWS_WITH(reduce(ReduceOp::sum, a, {1, -1}, false), Contains("repeated"));
  REQUIRE_THROWS_WITH(reduce(ReduceOp::sum, a, {2}, false), Contains("axis 2") && Contains("rank 2"));
  REQUIRE_THROWS_AS(reduce(ReduceOp::sum, a, {-3}, false), keel::ShapeError);
}

TEST_CASE("empty reductions: sum is 0, mean is NaN, max is an error") {
  Tensor e = Tensor::zeros({0, 3});
  CHECK(reduce(ReduceOp::sum, e, {0}, false).to_vector() == std::vector<double>{0, 0, 0});
  CHECK(std::isnan(reduce(ReduceOp::mean, e, {0}, false).to_vector()[0]));
  REQUIRE_THROWS_AS(reduce(ReduceOp::max, e, {0}, false), keel::ValueError);
}

TEST_CASE("max propagates NaN") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  Tensor x = Tensor::from_vector({1, nan, 3, 4}, {2, 2}, DType::float64);
  auto m = reduce(ReduceOp::max, x, {1}, false).to_vector();
  CHECK(std::isnan(m[0]));
  CHECK(m[1] == 4);
}

TEST_CASE("a sum of 1e8 float32 values of 0.1 is within 1e-6 relative of exact") {
  Tensor x = Tensor::full({100000000}, 0.1);
  double exact = 1e8 * static_cast<double>(0.1f);
  double got = reduce(ReduceOp::sum, x, {}, false).item();
  CHECK(std::abs(got - exact) / exact < 1e-6);
}

TEST_CASE("a symmetric array with a large offset sums to 0 with the same bits for every thread count") {
  Tensor noise = keel::random::normal({200000}, 0, 1, 11, DType::float32);
  std::vector<double> v = noise.to_vector();
  std::vector<double> sym;
  for (double e : v) sym.push_back(1e4 + e);
  for (double e : v) sym.push_back(-1e4 - e);
  Tensor x = Tensor::from_vector(sym, {static_cast<std::int64_t>(sym.size())});
  std::vector<double> sums;
  for (int t : {1, 2, 3, 8}) {
    keel::set_num_threads(t);
    sums.push_back(reduce(ReduceOp::sum, x, {}, false).item());
    sums.push_back(reduce(ReduceOp::sum, x.reshape({400, 1000}), {0}, false).to_vector()[17]);
  }
  keel::set_num_threads(0);
  CHECK(std::abs(sums[0]) < 1e-3);
  for (std::size_t i = 2; i < sums.size(); i += 2) {
    CHECK(sums[i] == sums[0]);
    CHECK(sums[i + 1] == sums[1]);
  }
}

TEST_CASE("argmax returns the first maximum as int64") {
  Tensor x = Tensor::from_vector({1, 7, 7, 0, 2, 9}, {2, 3});
  Tensor i = argmax(x, 1);
  CHECK(i.dtype() == DType::int64);
  CHECK(i.to_vector() == std::vector<double>{1, 2});
  CHECK(argmax(x, 0).to_vector() == std::vector<double>{0, 0, 1});
}
