// Activations by name against their formulas (docs/semantics.md §7).
#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <string>

#include "keel/autograd/ops.h"
#include "keel/core/error.h"
#include "keel/layers/activations.h"

using Catch::Matchers::Contains;
using keel::Activation;
using keel::DType;
using keel::Tensor;

namespace {

const std::vector<double> kPoints = {-7, -3, -1, -0.5, 0, 0.25, 1, 3, 7};

double sigmoid(double x) { return 1 / (1 + std::exp(-x)); }

void check_elementwise(const std::string& name, const std::function<double(double)>& f) {
  INFO(name);
  std::vector<double> y =
      Activation(name)(Tensor::from_vector(kPoints, {3, 3}, DType::float64)).to_vector();
  for (std::size_t i = 0; i < kPoints.size(); ++i) CHECK(y[i] == Approx(f(kPoints[i])).epsilon(1e-12).margin(1e-15));
}

}  // namespace

TEST_CASE("elementwise activations by name match their formulas", "[layers][activations]") {
  check_elementwise("linear", [](double x) { return x; });
  check_elementwise("", [](double x) { return x; });
  check_elementwise("relu", [](double x) { return x > 0 ? x : 0; });
  check_elementwise("relu6", [](double x) { return std::min(std::max(x, 0.0), 6.0); });
  check_elementwise("leaky_relu", [](double x) { return x > 0 ? x : 0.2 * x; });
  check_elementwise("elu", [](double x) { return x > 0 ? x : std::exp(x) - 1; });
  check_elementwise("selu", [](double x) { return 1.05070098 * (x > 0 ? x : 1.67326324 * (std::exp(x) - 1)); });
  check_elementwise("gelu", [](double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); });
  check_elementwise("sigmoid", sigmoid);
  check_elementwise("hard_sigmoid", [](double x) { return std::min(std::max((x + 3) / 6, 0.0), 1.0); });
  check_elementwise("tanh", [](double x) { return std::tanh(x); });
  check_elementwise("softplus", [](double x) { return std::log1p(std::exp(x)); });
  check_elementwise("softsign", [](double x) { return x / (1 + std::abs(x)); });
  check_elementwise("swish", [](double x) { return x * sigmoid(x); });
  check_elementwise("silu", [](double x) { return x * sigmoid(x); });
}

TEST_CASE("sigmoid and softplus are stable in both tails", "[layers][activations]") {
  Tensor x = Tensor::from_vector({-800, 800}, {2}, DType::float64);
  std::vector<double> s = Activation("sigmoid")(x).to_vector();
  CHECK(s[0] == 0.0);
  CHECK(s[1] == 1.0);
  std::vector<double> sp = Activation("softplus")(x).to_vector();
  CHECK(sp[0] == Approx(0.0).margin(1e-300));
  CHECK(sp[1] == 800.0);
  std::vector<double> f = Activation("softplus")(Tensor::from_vector({-800, 800}, {2}, DType::float32)).to_vector();
  CHECK(std::isfinite(f[0]));
  CHECK(f[1] == 800.0);
}

TEST_CASE("softmax and log_softmax work on the last axis and are max-subtracted", "[layers][activations]") {
  Tensor x = Tensor::from_vector({1, 2, 3, 1000, 1001, 1002}, {2, 3}, DType::float64);
  const double z = std::exp(-2.0) + std::exp(-1.0) + 1.0;
  std::vector<double> want = {std::exp(-2.0) / z, std::exp(-1.0) / z, 1 / z};
  std::vector<double> s = Activation("softmax")(x).to_vector();
  std::vector<double> ls = Activation("log_softmax")(x).to_vector();
  for (int row = 0; row < 2; ++row)
    for (int j = 0; j < 3; ++j) {
      CHECK(s[row * 3 + j] == Approx(want[j]).epsilon(1e-12));
      CHECK(ls[row * 3 + j] == Approx(std::log(want[j])).epsilon(1e-12));
    }
}

TEST_CASE("unknown activation names fail - custom ones can be registered", "[layers][activations]") {
  REQUIRE_THROWS_AS(Activation("reluu"), keel::ValueError);
  REQUIRE_THROWS_WITH(Activation("reluu"), Contains("'reluu'") && Contains("relu6"));
  keel::activations::register_activation("cube_for_test", [](const Tensor& x) { return x * x * x; });
  CHECK(Activation("cube_for_test")(Tensor::from_vector({2}, {1}, DType::float64)).item() == 8.0);
  CHECK(Activation("cube_for_test").name() == "cube_for_test");
  CHECK(Activation().is_linear());
}
