#include <catch2/catch.hpp>

#include <cmath>

#include "keel/core/error.h"
#include "keel/layers/gaussian_dropout.h"
#include "layer_test_support.h"

using Catch::Matchers::Contains;
using keel::Tensor;
namespace layers = keel::layers;
using namespace layer_test;

TEST_CASE("GaussianDropout multiplies by noise of mean 1 and stddev sqrt(rate / (1 - rate))", "[layers][gaussian_dropout]") {
  auto drop = layers::GaussianDropout({.rate = 0.2, .seed = 1});
  const double n = 400 * 500, stddev = std::sqrt(0.2 / 0.8);
  std::vector<double> y = (*drop)(Tensor::full({400, 500}, 2.0, keel::DType::float64), true).to_vector();
  double sum = 0, sum_sq = 0;
  for (double v : y) sum += v / 2, sum_sq += (v / 2 - 1) * (v / 2 - 1);
  CHECK(sum / n == Approx(1).margin(5 * stddev / std::sqrt(n)));
  CHECK(std::sqrt(sum_sq / n) == Approx(stddev).epsilon(0.01));
}

TEST_CASE("GaussianDropout is the identity outside training, repeats with a seed, and passes the noise as gradient",
          "[layers][gaussian_dropout]") {
  Tensor x = uniform({4, 5}, 151, keel::DType::float32);
  CHECK((*layers::GaussianDropout({.rate = 0.5}))(x).to_vector() == x.to_vector());
  CHECK((*layers::GaussianDropout({.rate = 0}))(x, true).to_vector() == x.to_vector());
  auto a = layers::GaussianDropout({.rate = 0.3, .seed = 5}), b = layers::GaussianDropout({.rate = 0.3, .seed = 5});
  CHECK((*a)(x, true).to_vector() == (*b)(x, true).to_vector());
  Float64Scope f64;
  Tensor xg = uniform({3, 4}, 152);
  keel::set_requires_grad(xg, true);
  Tensor y = (*layers::GaussianDropout({.rate = 0.4, .seed = 2}))(xg, true);
  keel::backward(keel::ops::sum(y));
  std::vector<double> g = keel::grad(xg).to_vector(), yv = y.to_vector(), xv = xg.to_vector();
  for (std::size_t i = 0; i < g.size(); ++i) CHECK(yv[i] == Approx(xv[i] * g[i]));
}

TEST_CASE("GaussianDropout config round trip and bad rates", "[layers][gaussian_dropout]") {
  auto rebuilt = check_round_trip(layers::GaussianDropout({.rate = 0.1, .seed = 3}), uniform({2, 3}, 153, keel::DType::float32));
  CHECK(rebuilt->get_config()["rate"] == 0.1);
  REQUIRE_THROWS_WITH(layers::GaussianDropout({.rate = 1.0}, "gd_one"), Contains("gd_one") && Contains("rate") && Contains("1"));
  REQUIRE_THROWS_AS(layers::GaussianDropout({.rate = -0.5}), keel::ValueError);
}
