#include <catch2/catch.hpp>

#include <cmath>

#include "keel/core/error.h"
#include "keel/layers/gaussian_noise.h"
#include "layer_test_support.h"

using Catch::Matchers::Contains;
using keel::Tensor;
namespace layers = keel::layers;
using namespace layer_test;

TEST_CASE("GaussianNoise adds zero-mean noise of standard deviation stddev in training", "[layers][gaussian_noise]") {
  auto noise = layers::GaussianNoise({.stddev = 0.5, .seed = 1});
  const double n = 400 * 500;
  std::vector<double> y = (*noise)(Tensor::full({400, 500}, 3.0, keel::DType::float64), true).to_vector();
  double sum = 0, sum_sq = 0;
  for (double v : y) sum += v - 3, sum_sq += (v - 3) * (v - 3);
  CHECK(sum / n == Approx(0).margin(5 * 0.5 / std::sqrt(n)));
  CHECK(std::sqrt(sum_sq / n) == Approx(0.5).epsilon(0.01));
}

TEST_CASE("GaussianNoise is the identity outside training, repeats with a seed, and has gradient 1", "[layers][gaussian_noise]") {
  Tensor x = uniform({4, 5}, 141, keel::DType::float32);
  CHECK((*layers::GaussianNoise({.stddev = 1}))(x).to_vector() == x.to_vector());
  CHECK((*layers::GaussianNoise({.stddev = 0}))(x, true).to_vector() == x.to_vector());
  auto a = layers::GaussianNoise({.stddev = 0.1, .seed = 5}), b = layers::GaussianNoise({.stddev = 0.1, .seed = 5});
  const std::vector<double> a1 = (*a)(x, true).to_vector();
  CHECK(a1 == (*b)(x, true).to_vector());
  CHECK(a1 != (*a)(x, true).to_vector());
  // A share starting at global sample 2 gets rows 2.. of the whole batch's noise.
  auto whole = layers::GaussianNoise({.stddev = 0.1, .seed = 6}), share = layers::GaussianNoise({.stddev = 0.1, .seed = 6});
  std::vector<double> want = (*whole)(x, true).to_vector();
  std::vector<double> got = (*share)(x.narrow(0, 2, 2), layers::CallContext{.training = true, .first_sample = 2}).to_vector();
  CHECK(got == std::vector<double>(want.begin() + 10, want.end()));
  Float64Scope f64;
  Tensor xg = uniform({3, 3}, 142);
  keel::set_requires_grad(xg, true);
  keel::backward(keel::ops::sum((*layers::GaussianNoise({.stddev = 0.3}))(xg, true)));
  for (double g : keel::grad(xg).to_vector()) CHECK(g == 1.0);
}

TEST_CASE("GaussianNoise config round trip and bad stddev", "[layers][gaussian_noise]") {
  auto rebuilt = check_round_trip(layers::GaussianNoise({.stddev = 0.2, .seed = 3}), uniform({2, 3}, 143, keel::DType::float32));
  CHECK(rebuilt->get_config()["stddev"] == 0.2);
  CHECK(rebuilt->get_config()["seed"] == 3);
  REQUIRE_THROWS_WITH(layers::GaussianNoise({.stddev = 1.5}, "noise_big"), Contains("noise_big") && Contains("stddev") && Contains("1.5"));
  REQUIRE_THROWS_AS(layers::GaussianNoise({.stddev = -0.1}), keel::ValueError);
}
