#include <catch2/catch.hpp>

#include "keel/core/error.h"
#include "keel/layers/global_pooling1d.h"
#include "layer_test_support.h"

using Catch::Matchers::Contains;
using keel::Shape;
using keel::Tensor;
namespace layers = keel::layers;
using namespace layer_test;

TEST_CASE("GlobalAveragePooling1D and GlobalMaxPooling1D reduce over the steps", "[layers][global_pooling1d]") {
  // One sample, 3 steps, 2 channels: channel 0 = 1, 4, -2; channel 1 = 3, 0, 9.
  const Tensor x = Tensor::from_vector({1, 3, 4, 0, -2, 9}, {1, 3, 2});
  auto avg = layers::GlobalAveragePooling1D();
  auto max = layers::GlobalMaxPooling1D();
  check_values((*avg)(x), {1, 4});
  check_values((*max)(x), {4, 9});
  CHECK((*avg)(x).shape() == Shape{1, 2});
  auto kept = layers::GlobalMaxPooling1D({.keepdims = true});
  CHECK((*kept)(x).shape() == Shape{1, 1, 2});
  CHECK(kept->compute_output_shape({5, 7, 2}) == Shape{5, 1, 2});
  // channels_first: the same numbers as [1, 2, 3].
  const Tensor xt = Tensor::from_vector({1, 4, -2, 3, 0, 9}, {1, 2, 3});
  auto first = layers::GlobalAveragePooling1D({.data_format = "channels_first", .keepdims = true});
  CHECK(first->compute_output_shape({1, 2, 3}) == Shape{1, 2, 1});
  check_values((*first)(xt), {1, 4});
}

TEST_CASE("GlobalPooling1D gradients, config round trip and bad arguments", "[layers][global_pooling1d]") {
  {
    Float64Scope f64;
    check_layer_gradients(*layers::GlobalAveragePooling1D({.keepdims = true}), uniform({2, 5, 3}, 3));
    check_layer_gradients(*layers::GlobalMaxPooling1D({.data_format = "channels_first"}), uniform({2, 3, 5}, 4));
  }
  auto pool = layers::GlobalMaxPooling1D({.data_format = "channels_first", .keepdims = true});
  auto rebuilt = check_round_trip(pool, uniform({2, 3, 4}, 5, keel::DType::float32));
  CHECK(rebuilt->get_config()["keepdims"] == true);
  REQUIRE_THROWS_WITH(layers::GlobalAveragePooling1D({.data_format = "NWC"}, "g"),
                      Contains("GlobalAveragePooling1D 'g'") && Contains("'NWC'"));
  auto g = layers::GlobalMaxPooling1D({}, "g");
  REQUIRE_THROWS_WITH(g->compute_output_shape({2, 3, 4, 5}), Contains("g") && Contains("rank-3"));
  REQUIRE_THROWS_AS((*g)(Tensor::ones({2, 3, 4, 5})), keel::ShapeError);
}
