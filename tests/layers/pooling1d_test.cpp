#include <catch2/catch.hpp>

#include "keel/autograd/ops.h"
#include "keel/core/error.h"
#include "keel/layers/pooling1d.h"
#include "layer_test_support.h"

using Catch::Matchers::Contains;
using keel::Shape;
using keel::Tensor;
namespace layers = keel::layers;
using namespace layer_test;

TEST_CASE("MaxPooling1D and AveragePooling1D on hand-computed windows", "[layers][pooling1d]") {
  const Tensor x = Tensor::arange(0, 8).reshape({1, 8, 1});
  check_values((*layers::MaxPooling1D())(x), {1, 3, 5, 7});
  check_values((*layers::AveragePooling1D())(x), {0.5, 2.5, 4.5, 6.5});
  // 1..5, pool 3, stride 2, same: out 3, one padded step before: windows {1, 2}, {2, 3, 4}, {4, 5}.
  const Tensor y = Tensor::from_vector({1, 2, 3, 4, 5}, {1, 5, 1});
  check_values((*layers::MaxPooling1D({.pool_size = 3, .strides = 2, .padding = "same"}))(y), {2, 4, 5});
  check_values((*layers::AveragePooling1D({.pool_size = 3, .strides = 2, .padding = "same"}))(y), {1.5, 3, 4.5});
  // Two channels, channels_first: each channel pooled on its own.
  const Tensor z = Tensor::from_vector({1, 5, 2, 0, -1, -3, -2, -4}, {1, 2, 4});
  auto first = layers::MaxPooling1D({.data_format = "channels_first"});
  CHECK(first->compute_output_shape({1, 2, 4}) == Shape{1, 2, 2});
  check_values((*first)(z), {5, 2, -1, -2});
}

TEST_CASE("Pooling1D gradients in float64", "[layers][pooling1d]") {
  Float64Scope f64;
  check_layer_gradients(*layers::AveragePooling1D({.pool_size = 3, .strides = 2, .padding = "same"}), uniform({2, 7, 3}, 3));
  check_layer_gradients(*layers::MaxPooling1D({.pool_size = 2, .strides = 1, .data_format = "channels_first"}),
                        uniform({2, 3, 6}, 4));
}

TEST_CASE("Pooling1D config round trip, Keras's tuple form and bad arguments", "[layers][pooling1d]") {
  auto pool = layers::MaxPooling1D({.pool_size = 3, .strides = 1, .padding = "same"});
  auto rebuilt = check_round_trip(pool, uniform({2, 6, 3}, 5, keel::DType::float32));
  CHECK(rebuilt->get_config()["pool_size"] == nlohmann::json::array({3}));
  CHECK(layers::AveragePooling1D({.pool_size = 4})->get_config()["strides"] == nlohmann::json::array({4}));
  auto keras = layers::deserialize(nlohmann::json::parse(
      R"({"class_name": "AveragePooling1D", "config": {"pool_size": [2], "strides": null, "padding": "valid"}})"));
  CHECK(keras->compute_output_shape({1, 9, 2}) == Shape{1, 4, 2});
  REQUIRE_THROWS_WITH(layers::MaxPooling1D({.pool_size = 0}, "p"), Contains("MaxPooling1D 'p'") && Contains("pool_size"));
  REQUIRE_THROWS_WITH(layers::MaxPooling1D({.strides = -2}, "p"), Contains("p") && Contains("strides") && Contains("-2"));
  REQUIRE_THROWS_WITH(layers::AveragePooling1D({.padding = "causal"}, "p"), Contains("'causal'"));
  auto p = layers::MaxPooling1D({.pool_size = 3}, "p");
  REQUIRE_THROWS_WITH((*p)(Tensor::ones({1, 2, 4})), Contains("MaxPooling1D 'p'") && Contains("steps 2"));
  REQUIRE_THROWS_WITH((*p)(Tensor::ones({1, 4, 4, 4})), Contains("p") && Contains("rank"));
}
