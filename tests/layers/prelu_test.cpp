#include <catch2/catch.hpp>

#include "keel/core/error.h"
#include "keel/layers/prelu.h"
#include "layer_test_support.h"

using Catch::Matchers::Contains;
using keel::Shape;
using keel::Tensor;
namespace layers = keel::layers;
using namespace layer_test;
namespace initializers = keel::initializers;

TEST_CASE("PReLU multiplies negative inputs by a learned alpha, zeros at first", "[layers][prelu]") {
  Tensor x = Tensor::from_vector({-2, 3, -4, 1}, {2, 2});
  auto prelu = layers::PReLU();
  check_values((*prelu)(x), {0, 3, 0, 1});
  REQUIRE(prelu->weights().size() == 1);
  CHECK(prelu->weights()[0].name() == prelu->name() + "/alpha");
  CHECK(prelu->alpha().shape() == Shape{2});
  prelu->set_weights({Tensor::from_vector({0.25, 0.5}, {2})});
  check_values((*prelu)(x), {-0.5, 3, -1, 1});
}

TEST_CASE("PReLU's shared_axes share one alpha along the listed 1-based axes", "[layers][prelu]") {
  auto per_channel = layers::PReLU({.alpha_initializer = initializers::Constant{0.1}, .shared_axes = {1, 2}});
  Tensor x = -Tensor::ones({2, 3, 4, 5});
  Tensor y = (*per_channel)(x);
  CHECK(per_channel->alpha().shape() == Shape{1, 1, 5});
  CHECK(per_channel->count_params() == 5);
  for (double v : y.to_vector()) CHECK(v == Approx(-0.1));
  // Other heights and widths are fine; another channel count is not.
  CHECK_THROWS_AS((*per_channel)(Tensor::ones({2, 3, 4, 6})), keel::ShapeError);
  CHECK_THROWS_AS((*layers::PReLU({.shared_axes = {3}}))(Tensor::ones({2, 3})), keel::ShapeError);
  REQUIRE_THROWS_WITH(layers::PReLU({.shared_axes = {0}}, "prelu_zero"),
                      Contains("prelu_zero") && Contains("shared_axes") && Contains("[0]"));
}

TEST_CASE("PReLU gradients, regularizer and config round trip", "[layers][prelu]") {
  {
    Float64Scope f64;
    check_layer_gradients(
        *layers::PReLU({.alpha_initializer = initializers::RandomUniform{.minval = -1, .maxval = 1, .seed = 3},
                        .shared_axes = {2}}),
        uniform({2, 3, 4}, 81));
  }
  auto prelu = layers::PReLU({.alpha_initializer = initializers::Constant{0.5},
                              .alpha_regularizer = keel::regularizers::L2{.l2 = 0.1},
                              .shared_axes = {1}});
  Tensor x = uniform({2, 3, 4}, 82, keel::DType::float32);
  (*prelu)(x);
  REQUIRE(prelu->losses().size() == 1);
  CHECK(prelu->losses()[0].item() == Approx(0.1 * 4 * 0.25));  // alpha [1, 4] of 0.5
  auto rebuilt = check_round_trip(prelu, x);
  CHECK(rebuilt->get_config()["shared_axes"] == nlohmann::json::array({1}));
  CHECK(layers::PReLU()->get_config()["shared_axes"].is_null());
  CHECK(layers::PReLULayer::from_config({{"shared_axes", 2}})->options().shared_axes == std::vector<std::int64_t>{2});
}
