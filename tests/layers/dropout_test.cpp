#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "keel/core/error.h"
#include "keel/layers/dropout.h"
#include "layer_test_support.h"

using Catch::Matchers::Contains;
using keel::Tensor;
namespace layers = keel::layers;
using namespace layer_test;

TEST_CASE("Dropout zeroes rate of the inputs and scales the rest by 1 over 1 - rate", "[layers][dropout]") {
  auto drop = layers::Dropout({.rate = 0.3, .seed = 42});
  const std::int64_t n = 200000;
  std::vector<double> y = (*drop)(Tensor::ones({n / 100, 100}), true).to_vector();
  double zeros = 0, sum = 0;
  for (double v : y) {
    if (v == 0) ++zeros;
    else CHECK(v == Approx(1 / 0.7));
    sum += v;
  }
  const double se = std::sqrt(0.3 * 0.7 / double(n));
  CHECK(zeros / double(n) == Approx(0.3).margin(5 * se));
  CHECK(sum / double(n) == Approx(1.0).margin(5 * se / 0.7));
}

TEST_CASE("Dropout is the identity outside training and at rate 0", "[layers][dropout]") {
  Tensor x = uniform({4, 5}, 20, keel::DType::float32);
  CHECK((*layers::Dropout({.rate = 0.9}))(x).to_vector() == x.to_vector());
  CHECK((*layers::Dropout({.rate = 0.9}))(x, false).to_vector() == x.to_vector());
  CHECK((*layers::Dropout({.rate = 0.0}))(x, true).to_vector() == x.to_vector());
}

TEST_CASE("a seeded Dropout draws a reproducible sequence of masks", "[layers][dropout]") {
  Tensor x = Tensor::ones({64, 64});
  auto a = layers::Dropout({.rate = 0.5, .seed = 7}), b = layers::Dropout({.rate = 0.5, .seed = 7});
  std::vector<double> a1 = (*a)(x, true).to_vector(), a2 = (*a)(x, true).to_vector();
  CHECK(a1 != a2);
  CHECK((*b)(x, true).to_vector() == a1);
  CHECK((*b)(x, true).to_vector() == a2);
  CHECK((*layers::Dropout({.rate = 0.5, .seed = 8}))(x, true).to_vector() != a1);
  auto unseeded = layers::Dropout({.rate = 0.5});
  CHECK((*unseeded)(x, true).to_vector() != (*unseeded)(x, true).to_vector());
}

TEST_CASE("Dropout's gradient is its mask times the scale", "[layers][dropout]") {
  Float64Scope f64;
  auto drop = layers::Dropout({.rate = 0.25, .seed = 3});
  Tensor x = uniform({8, 8}, 21);
  keel::set_requires_grad(x, true);
  Tensor y = (*drop)(x, true);
  keel::backward(keel::ops::sum(y));
  std::vector<double> g = keel::grad(x).to_vector(), yv = y.to_vector(), xv = x.to_vector();
  for (std::size_t i = 0; i < g.size(); ++i) CHECK(g[i] == Approx(yv[i] == 0 ? 0.0 : 1 / 0.75));
  for (std::size_t i = 0; i < g.size(); ++i) CHECK(yv[i] == Approx(xv[i] * g[i]));
}

TEST_CASE("Dropout config round trip and bad rates", "[layers][dropout]") {
  auto drop = layers::Dropout({.rate = 0.4, .seed = 5}, "drop_rt");
  auto rebuilt = check_round_trip(drop, uniform({3, 4}, 22, keel::DType::float32));
  CHECK(rebuilt->get_config()["seed"] == 5);
  CHECK(rebuilt->get_config()["rate"] == 0.4);
  CHECK(layers::Dropout({.rate = 0.1})->get_config()["seed"].is_null());
  REQUIRE_THROWS_WITH(layers::Dropout({.rate = -0.1}, "drop_neg"), Contains("drop_neg") && Contains("rate") && Contains("-0.1"));
  REQUIRE_THROWS_AS(layers::Dropout({.rate = 1.0}), keel::ValueError);
  REQUIRE_THROWS_AS(layers::Dropout({.rate = std::numeric_limits<double>::quiet_NaN()}), keel::ValueError);
}

TEST_CASE("Dropout draws per global sample, so a batch split into shares gets the whole batch's masks",
          "[layers][dropout]") {
  // Replica shares of a global batch of 5: rows [0, 3) and [3, 5), each told its first global sample.
  Tensor x = uniform({5, 4, 3}, 23, keel::DType::float32);
  auto whole = layers::Dropout({.rate = 0.5, .seed = 9}), first = layers::Dropout({.rate = 0.5, .seed = 9}),
       second = layers::Dropout({.rate = 0.5, .seed = 9});
  std::vector<double> want = (*whole)(x, layers::CallContext{.training = true}).to_vector();
  std::vector<double> got = (*first)(x.narrow(0, 0, 3), layers::CallContext{.training = true}).to_vector();
  std::vector<double> rest =
      (*second)(x.narrow(0, 3, 2), layers::CallContext{.training = true, .first_sample = 3}).to_vector();
  got.insert(got.end(), rest.begin(), rest.end());
  CHECK(got == want);
  // Without the offset the second share would repeat the first rows' masks.
  auto unshifted = layers::Dropout({.rate = 0.5, .seed = 9});
  std::vector<double> wrong = (*unshifted)(x.narrow(0, 3, 2), layers::CallContext{.training = true}).to_vector();
  CHECK(wrong != rest);
}
