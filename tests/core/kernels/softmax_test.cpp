#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "keel/core/kernels/softmax.h"

using keel::DType;
using keel::Tensor;

TEST_CASE("softmax and log_softmax stay finite at extreme logits and rows sum to 1") {
  for (double big : {1e4, 88.0, 1e30}) {
    Tensor x = Tensor::from_vector({-big, 0, big, big}, {2, 2}, DType::float32);
    auto y = keel::kernels::softmax(x).to_vector();
    for (double v : y) CHECK(std::isfinite(v));
    CHECK(y[0] + y[1] == Approx(1).margin(1e-6));
    CHECK(y[2] + y[3] == Approx(1).margin(1e-6));
    CHECK(y[2] == 0.5);
    auto l = keel::kernels::log_softmax(x).to_vector();
    for (double v : l) CHECK(std::isfinite(v));
  }
}

TEST_CASE("softmax of -inf and 0 is 0 and 1 - an all -inf row is NaN (documented)") {
  const double inf = std::numeric_limits<double>::infinity();
  Tensor x = Tensor::from_vector({-inf, 0, -inf, -inf}, {2, 2}, DType::float64);
  auto y = keel::kernels::softmax(x).to_vector();
  CHECK(y[0] == 0);
  CHECK(y[1] == 1);
  CHECK(std::isnan(y[2]));
}

TEST_CASE("softmax matches its definition") {
  Tensor x = Tensor::from_vector({1, 2, 3}, {1, 3}, DType::float64);
  auto y = keel::kernels::softmax(x).to_vector();
  double z = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  CHECK(y[0] == Approx(std::exp(1.0) / z).epsilon(1e-14));
  CHECK(y[2] == Approx(std::exp(3.0) / z).epsilon(1e-14));
  auto l = keel::kernels::log_softmax(x).to_vector();
  CHECK(l[1] == Approx(2.0 - std::log(z)).epsilon(1e-14));
}
