#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "keel/core/error.h"
#include "keel/core/kernels/elementwise.h"
#include "keel/core/parallel.h"

using Catch::Matchers::Contains;
using keel::DType;
using keel::Shape;
using keel::Tensor;
using namespace keel::kernels;

TEST_CASE("binary ops broadcast like NumPy") {
  Tensor a = Tensor::from_vector({1, 2, 3}, {3, 1});
  Tensor b = Tensor::from_vector({10, 20}, {2});
  Tensor s = binary(BinaryOp::add, a, b);
  CHECK(s.shape() == Shape{3, 2});
  CHECK(s.to_vector() == std::vector<double>{11, 21, 12, 22, 13, 23});
  CHECK(binary(BinaryOp::sub, b, a).to_vector() == std::vector<double>{9, 19, 8, 18, 7, 17});
  CHECK(binary(BinaryOp::mul, a, Tensor::scalar(2)).to_vector() == std::vector<double>{2, 4, 6});
  CHECK(binary(BinaryOp::div, Tensor::scalar(1), b).to_vector() == std::vector<double>{0.1f, 0.05f});
  CHECK(binary(BinaryOp::pow, b, Tensor::scalar(2)).to_vector() == std::vector<double>{100, 400});
}

TEST_CASE("binary ops read strided operands correctly") {
  Tensor a = Tensor::arange(0, 6).reshape({2, 3});
  Tensor t = a.transpose(0, 1);  // [[0,3],[1,4],[2,5]]
  Tensor out = binary(BinaryOp::add, t, Tensor::from_vector({100, 200}, {2}));
  CHECK(out.to_vector() == std::vector<double>{100, 203, 101, 204, 102, 205});
}

TEST_CASE("large contiguous elementwise ops give the same bits on 1 and 2 threads") {
  Tensor a = Tensor::arange(0, 300000).reshape({300, 1000});
  Tensor b = Tensor::arange(0, 1000);
  keel::set_num_threads(1);
  auto one = binary(BinaryOp::mul, a, b).to_vector();
  keel::set_num_threads(2);
  auto two = binary(BinaryOp::mul, a, b).to_vector();
  keel::set_num_threads(0);
  CHECK(one == two);
  CHECK(one[1000 * 7 + 3] == double(float(7003) * 3));
}

TEST_CASE("incompatible shapes and dtypes are refused with both named") {
  REQUIRE_THROWS_AS(binary(BinaryOp::add, Tensor::zeros({3, 4}), Tensor::zeros({2, 4})), keel::ShapeError);
  REQUIRE_THROWS_WITH(binary(BinaryOp::add, Tensor::zeros({3, 4}), Tensor::zeros({2, 4})),
                      Contains("add") && Contains("[3, 4]") && Contains("[2, 4]"));
  REQUIRE_THROWS_WITH(binary(BinaryOp::mul, Tensor::zeros({2}), Tensor::zeros({2}, DType::float64)),
                      Contains("float32") && Contains("float64"));
  REQUIRE_THROWS_WITH(unary(UnaryOp::exp, Tensor::zeros({2}, DType::int64)), Contains("exp") && Contains("int64"));
}

TEST_CASE("an in-place op whose destination would broadcast is refused") {
  Tensor x = Tensor::zeros({1, 4});
  REQUIRE_THROWS_AS(binary_into(BinaryOp::add, x, Tensor::ones({3, 4}), x), keel::ShapeError);
  Tensor y = Tensor::zeros({3, 4});
  binary_into(BinaryOp::add, y, Tensor::ones({4}), y);
  CHECK(y.to_vector() == std::vector<double>(12, 1.0));
}

TEST_CASE("sigmoid is stable at both tails") {
  Tensor x = Tensor::from_vector({-1e30, -1e4, -88.7, 0, 88.7, 1e4, 1e30}, {7}, DType::float64);
  auto y = unary(UnaryOp::sigmoid, x).to_vector();
  for (double v : y) {
    CHECK(v >= 0);
    CHECK(v <= 1);
  }
  CHECK(y[0] == 0);
  CHECK(y[3] == 0.5);
  CHECK(y[6] == 1);
  CHECK(y[2] == Approx(1.0 / (1.0 + std::exp(88.7))).epsilon(1e-12));
  auto yf = unary(UnaryOp::sigmoid, x.to(DType::float32)).to_vector();
  for (double v : yf) CHECK(std::isfinite(v));
}

TEST_CASE("softplus is stable and exact in the middle") {
  Tensor x = Tensor::from_vector({-1000, -1, 0, 1, 1000}, {5}, DType::float64);
  auto y = unary(UnaryOp::softplus, x).to_vector();
  CHECK(y[0] == Approx(0).margin(1e-300));
  CHECK(y[1] == Approx(std::log1p(std::exp(-1.0))));
  CHECK(y[2] == Approx(std::log(2.0)));
  CHECK(y[4] == 1000);
}

TEST_CASE("NaN propagates through relu, sigmoid, tanh, add, maximum and clip") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  Tensor x = Tensor::from_vector({nan, 1}, {2}, DType::float64);
  for (UnaryOp op : {UnaryOp::relu, UnaryOp::sigmoid, UnaryOp::tanh}) CHECK(std::isnan(unary(op, x).to_vector()[0]));
  CHECK(std::isnan(binary(BinaryOp::add, x, x).to_vector()[0]));
  CHECK(std::isnan(binary(BinaryOp::maximum, x, Tensor::scalar(5, DType::float64)).to_vector()[0]));
  CHECK(std::isnan(binary(BinaryOp::maximum, Tensor::scalar(5, DType::float64), x).to_vector()[0]));
  CHECK(std::isnan(clip(x, 0, 1).to_vector()[0]));
}

TEST_CASE("compare and where") {
  Tensor a = Tensor::from_vector({1, 5, 3}, {3});
  Tensor b = Tensor::scalar(3);
  Tensor gt = compare(CompareOp::gt, a, b);
  CHECK(gt.dtype() == DType::boolean);
  CHECK(gt.to_vector() == std::vector<double>{0, 1, 0});
  CHECK(compare(CompareOp::ge, a, b).to_vector() == std::vector<double>{0, 1, 1});
  CHECK(where(gt, a, Tensor::scalar(-1)).to_vector() == std::vector<double>{-1, 5, -1});
  REQUIRE_THROWS_WITH(where(a, a, a), Contains("bool"));
}

TEST_CASE("clip bounds values and validates its bounds") {
  CHECK(clip(Tensor::from_vector({-2, 0.5, 9}, {3}), 0, 1).to_vector() == std::vector<double>{0, 0.5, 1});
  REQUIRE_THROWS_WITH(clip(Tensor::zeros({1}), 2, 1), Contains("lo=2") && Contains("hi=1"));
}
