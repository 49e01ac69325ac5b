#include <catch2/catch.hpp>

#include "keel/core/error.h"
#include "keel/layers/leaky_relu.h"
#include "layer_test_support.h"

using Catch::Matchers::Contains;
using keel::Tensor;
namespace layers = keel::layers;
using namespace layer_test;

TEST_CASE("LeakyReLU scales negative inputs by negative_slope, 0.3 by default", "[layers][leaky_relu]") {
  Tensor x = Tensor::from_vector({-2, -0.5, 0, 3}, {1, 4});
  CHECK(layers::LeakyReLU()->options().negative_slope == 0.3);
  check_values((*layers::LeakyReLU())(x), {-0.6, -0.15, 0, 3}, 1e-6);
  check_values((*layers::LeakyReLU({.negative_slope = 0.1}))(x), {-0.2, -0.05, 0, 3}, 1e-6);
}

TEST_CASE("LeakyReLU gradient, config round trip and bad slopes", "[layers][leaky_relu]") {
  {
    Float64Scope f64;
    check_layer_gradients(*layers::LeakyReLU({.negative_slope = 0.25}), uniform({3, 4}, 41));
  }
  auto rebuilt = check_round_trip(layers::LeakyReLU({.negative_slope = 0.05}), uniform({2, 3}, 42, keel::DType::float32));
  CHECK(rebuilt->get_config()["negative_slope"] == 0.05);
  REQUIRE_THROWS_WITH(layers::LeakyReLU({.negative_slope = -0.3}, "leaky_neg"),
                      Contains("leaky_neg") && Contains("negative_slope") && Contains("-0.3"));
  REQUIRE_THROWS_AS(layers::LeakyReLULayer::from_config({{"alpha", 0.3}}), keel::ValueError);
}
