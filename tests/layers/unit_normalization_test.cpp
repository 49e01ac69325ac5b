#include <catch2/catch.hpp>

#include <cmath>

#include "keel/core/error.h"
#include "keel/layers/unit_normalization.h"
#include "layer_test_support.h"

using Catch::Matchers::Contains;
using keel::DType;
using keel::Tensor;
namespace layers = keel::layers;
using namespace layer_test;

TEST_CASE("UnitNormalization scales each sample to unit L2 norm over axis", "[layers][unit_normalization]") {
  Float64Scope f64;
  Tensor x = Tensor::from_vector({3, 4, 0, 0, 1, 2, 2, 0}, {2, 4}, DType::float64);
  check_values((*layers::UnitNormalization())(x), {0.6, 0.8, 0, 0, 1.0 / 3, 2.0 / 3, 2.0 / 3, 0});
  // Axis 0 and axes {0, 1}.
  const double c0 = std::sqrt(10.0), c1 = std::sqrt(20.0), all = std::sqrt(34.0);
  check_values((*layers::UnitNormalization({.axis = {0}}))(x), {3 / c0, 4 / c1, 0, 0, 1 / c0, 2 / c1, 1, 0});
  check_values((*layers::UnitNormalization({.axis = {0, 1}}))(x),
               {3 / all, 4 / all, 0, 0, 1 / all, 2 / all, 2 / all, 0});
  // An all-zero row stays zero: the squared norm is floored at 1e-12.
  check_values((*layers::UnitNormalization())(Tensor::zeros({1, 3}, DType::float64)), {0, 0, 0});
  check_values((*layers::UnitNormalization())(Tensor::from_vector({1e-7, 0}, {1, 2}, DType::float64)), {0.1, 0});
}

TEST_CASE("UnitNormalization gradient, config round trip and bad axes", "[layers][unit_normalization]") {
  {
    Float64Scope f64;
    check_layer_gradients(*layers::UnitNormalization(), uniform({3, 4}, 121));
    check_layer_gradients(*layers::UnitNormalization({.axis = {1, 2}}), uniform({2, 3, 2}, 122));
  }
  auto rebuilt = check_round_trip(layers::UnitNormalization({.axis = {1, 2}}), uniform({2, 3, 2}, 123, DType::float32));
  CHECK(rebuilt->get_config()["axis"] == nlohmann::json::array({1, 2}));
  CHECK(rebuilt->weights().empty());
  REQUIRE_THROWS_WITH((*layers::UnitNormalization({.axis = {2}}, "unit_axis"))(Tensor::ones({2, 3})),
                      Contains("unit_axis") && Contains("axis 2"));
  REQUIRE_THROWS_AS(layers::UnitNormalization({.axis = {}}), keel::ValueError);
}
