#include <catch2/catch.hpp>

#include <cmath>

#include "keel/core/error.h"
#include "keel/layers/elu.h"
#include "layer_test_support.h"

using Catch::Matchers::Contains;
using keel::Tensor;
namespace layers = keel::layers;
using namespace layer_test;

TEST_CASE("ELU is x for x > 0 and alpha (exp(x) - 1) otherwise", "[layers][elu]") {
  Tensor x = Tensor::from_vector({-1, 0, 2}, {1, 3}, keel::DType::float64);
  auto elu = layers::ELU({.alpha = 0.5});
  elu->set_dtype(keel::DType::float64);
  check_values((*elu)(x), {0.5 * (std::exp(-1.0) - 1), 0, 2});
  check_values((*layers::ELU())(x), {std::exp(-1.0) - 1, 0, 2}, 1e-6);
}

TEST_CASE("ELU gradient, config round trip and bad alpha", "[layers][elu]") {
  {
    Float64Scope f64;
    check_layer_gradients(*layers::ELU({.alpha = 1.7}), uniform({3, 4}, 51));
  }
  auto rebuilt = check_round_trip(layers::ELU({.alpha = 2}), uniform({2, 3}, 52, keel::DType::float32));
  CHECK(rebuilt->get_config()["alpha"] == 2.0);
  REQUIRE_THROWS_WITH(layers::ELU({.alpha = INFINITY}, "elu_inf"), Contains("elu_inf") && Contains("alpha") && Contains("inf"));
}
