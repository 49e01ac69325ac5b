#include <catch2/catch.hpp>

#include "keel/core/error.h"
#include "keel/layers/global_pooling2d.h"
#include "layer_test_support.h"

using Catch::Matchers::Contains;
using keel::Shape;
using keel::Tensor;
namespace layers = keel::layers;
using namespace layer_test;

TEST_CASE("global pooling reduces height and width per channel", "[layers][global_pooling]") {
  // [1, 2, 2, 2]: channel 0 holds 1, 3, 5, 7 and channel 1 holds 2, -4, 6, 8.
  Tensor x = Tensor::from_vector({1, 2, 3, -4, 5, 6, 7, 8}, {1, 2, 2, 2});
  check_values((*layers::GlobalAveragePooling2D())(x), {4, 3});
  check_values((*layers::GlobalMaxPooling2D())(x), {7, 8});
  auto keep = layers::GlobalMaxPooling2D({.keepdims = true});
  CHECK((*keep)(x).shape() == Shape{1, 1, 1, 2});
  CHECK(keep->compute_output_shape({4, 5, 6, 7}) == Shape{4, 1, 1, 7});
  auto first = layers::GlobalAveragePooling2D({.data_format = "channels_first"});
  check_values((*first)(keel::ops::permute(x, {0, 3, 1, 2})), {4, 3});
  CHECK(first->compute_output_shape({4, 5, 6, 7}) == Shape{4, 5});
  CHECK(layers::GlobalAveragePooling2D({.data_format = "channels_first", .keepdims = true})
            ->compute_output_shape({4, 5, 6, 7}) == Shape{4, 5, 1, 1});
}

TEST_CASE("global pooling gradients, config round trip and bad arguments", "[layers][global_pooling]") {
  {
    Float64Scope f64;
    check_layer_gradients(*layers::GlobalAveragePooling2D(), uniform({2, 3, 2, 2}, 13));
    check_layer_gradients(*layers::GlobalMaxPooling2D({.data_format = "channels_first"}), uniform({2, 2, 3, 3}, 14));
  }
  check_round_trip(layers::GlobalMaxPooling2D({.data_format = "channels_first", .keepdims = true}),
                   uniform({1, 2, 3, 3}, 15, keel::DType::float32));
  REQUIRE_THROWS_WITH(layers::GlobalMaxPooling2D({.data_format = "channels_middle"}), Contains("'channels_middle'"));
  REQUIRE_THROWS_AS((*layers::GlobalAveragePooling2D())(Tensor::ones({2, 3})), keel::ShapeError);
}
