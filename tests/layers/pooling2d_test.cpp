#include <catch2/catch.hpp>

#include "keel/core/error.h"
#include "keel/layers/pooling2d.h"
#include "layer_test_support.h"

using Catch::Matchers::Contains;
using keel::Shape;
using keel::Tensor;
namespace layers = keel::layers;
using namespace layer_test;

TEST_CASE("MaxPooling2D and AveragePooling2D on hand-computed 2x2 windows", "[layers][pooling]") {
  Tensor x = Tensor::arange(0, 16).reshape({1, 4, 4, 1});
  auto max = layers::MaxPooling2D();
  auto avg = layers::AveragePooling2D({.pool_size = 2});
  check_values((*max)(x), {5, 7, 13, 15});
  check_values((*avg)(x), {2.5, 4.5, 10.5, 12.5});
  CHECK(max->weights().empty());
  CHECK(max->get_config()["strides"] == nlohmann::json::array({2, 2}));  // strides default to pool_size
  CHECK(max->compute_output_shape({3, 5, 7, 2}) == Shape{3, 2, 3, 2});
}

TEST_CASE("same padding pools over real inputs only", "[layers][pooling]") {
  Tensor x = Tensor::from_vector({1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 3, 3, 1});
  check_values((*layers::AveragePooling2D({.padding = "same"}))(x), {3, 4.5, 7.5, 9});
  check_values((*layers::MaxPooling2D({.padding = "same"}))(x), {5, 6, 8, 9});
  auto strided = layers::MaxPooling2D({.pool_size = 3, .strides = layers::Size2{1, 2}, .padding = "same"});
  CHECK(strided->compute_output_shape({1, 3, 3, 1}) == Shape{1, 3, 2, 1});
  check_values((*strided)(x), {5, 6, 8, 9, 8, 9});
}

TEST_CASE("pooling channels_first agrees with channels_last", "[layers][pooling]") {
  Tensor x = uniform({2, 5, 6, 3}, 8);
  Tensor x_first = keel::ops::permute(x, {0, 3, 1, 2});
  for (const char* padding : {"valid", "same"}) {
    layers::Pooling2DOptions o{.pool_size = {3, 2}, .strides = layers::Size2{2, 2}, .padding = padding};
    Tensor max_last = (*layers::MaxPooling2D(o))(x), avg_last = (*layers::AveragePooling2D(o))(x);
    o.data_format = "channels_first";
    check_values(keel::ops::permute((*layers::MaxPooling2D(o))(x_first), {0, 2, 3, 1}), max_last.to_vector());
    check_values(keel::ops::permute((*layers::AveragePooling2D(o))(x_first), {0, 2, 3, 1}), avg_last.to_vector(), 1e-6);
  }
}

TEST_CASE("pooling gradients in float64", "[layers][pooling]") {
  Float64Scope f64;
  check_layer_gradients(*layers::AveragePooling2D({.pool_size = 3, .strides = layers::Size2{2, 2}, .padding = "same"}),
                        uniform({2, 5, 5, 2}, 9));
  check_layer_gradients(*layers::MaxPooling2D({.data_format = "channels_first"}), uniform({1, 2, 4, 6}, 10));
}

TEST_CASE("pooling config round trip and bad arguments", "[layers][pooling]") {
  check_round_trip(layers::MaxPooling2D({.pool_size = {2, 3}, .strides = layers::Size2{1, 2}, .padding = "same"}),
                   uniform({1, 4, 5, 2}, 11, keel::DType::float32));
  check_round_trip(layers::AveragePooling2D({.data_format = "channels_first"}), uniform({1, 2, 4, 4}, 12, keel::DType::float32));
  REQUIRE_THROWS_WITH(layers::MaxPooling2D({.pool_size = 0}), Contains("pool_size"));
  REQUIRE_THROWS_WITH(layers::AveragePooling2D({.strides = layers::Size2{0, 1}}), Contains("strides"));
  REQUIRE_THROWS_WITH(layers::AveragePooling2D({.padding = "causal"}, "avg_bad"),
                      Contains("avg_bad") && Contains("'causal'"));
  REQUIRE_THROWS_AS((*layers::MaxPooling2D())(Tensor::ones({1, 4, 4})), keel::ShapeError);
}
