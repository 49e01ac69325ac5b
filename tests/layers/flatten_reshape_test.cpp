#include <catch2/catch.hpp>

#include "keel/core/error.h"
#include "keel/layers/flatten.h"
#include "keel/layers/reshape.h"
#include "layer_test_support.h"

using Catch::Matchers::Contains;
using keel::Shape;
using keel::Tensor;
namespace layers = keel::layers;
using namespace layer_test;

TEST_CASE("Flatten keeps channels_last order, also for channels_first inputs", "[layers][flatten]") {
  Tensor nhwc = Tensor::arange(0, 12).reshape({1, 2, 2, 3});
  auto flat = layers::Flatten();
  CHECK(flat->compute_output_shape({1, 2, 2, 3}) == Shape{1, 12});
  check_values((*flat)(nhwc), {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  // The same image stored NCHW flattens to the same vector.
  Tensor nchw = keel::ops::contiguous(keel::ops::permute(nhwc, {0, 3, 1, 2}));
  check_values((*layers::Flatten({.data_format = "channels_first"}))(nchw), {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  CHECK((*layers::Flatten())(Tensor::ones({4})).shape() == Shape{4, 1});
}

TEST_CASE("Flatten gradients, round trip and bad data_format", "[layers][flatten]") {
  {
    Float64Scope f64;
    check_layer_gradients(*layers::Flatten({.data_format = "channels_first"}), uniform({2, 3, 2, 2}, 16));
  }
  check_round_trip(layers::Flatten({.data_format = "channels_first"}), uniform({2, 3, 2, 2}, 17, keel::DType::float32));
  REQUIRE_THROWS_WITH(layers::Flatten({.data_format = "last"}), Contains("data_format") && Contains("'last'"));
}

TEST_CASE("Reshape to a target shape with one inferred size", "[layers][reshape]") {
  Tensor x = Tensor::arange(0, 12).reshape({2, 6});
  auto r = layers::Reshape({.target_shape = {3, 2}});
  CHECK((*r)(x).shape() == Shape{2, 3, 2});
  check_values((*r)(x), {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  CHECK(layers::Reshape({.target_shape = {-1, 2}})->compute_output_shape({5, 3, 4}) == Shape{5, 6, 2});
  {
    Float64Scope f64;
    check_layer_gradients(*layers::Reshape({.target_shape = {2, -1}}), uniform({2, 3, 2}, 18));
  }
  check_round_trip(layers::Reshape({.target_shape = {-1, 3}}), uniform({2, 6}, 19, keel::DType::float32));
}

TEST_CASE("Reshape rejects bad target shapes", "[layers][reshape]") {
  REQUIRE_THROWS_WITH(layers::Reshape({.target_shape = {-1, -1}}), Contains("target_shape") && Contains("[-1, -1]"));
  REQUIRE_THROWS_AS(layers::Reshape({.target_shape = {0, 2}}), keel::ValueError);
  REQUIRE_THROWS_AS(layers::Reshape(), keel::ValueError);
  auto r = layers::Reshape({.target_shape = {4}}, "reshape_bad");
  REQUIRE_THROWS_WITH((*r)(Tensor::ones({2, 6})), Contains("reshape_bad") && Contains("[2, 6]"));
  REQUIRE_THROWS_AS((*layers::Reshape({.target_shape = {-1, 4}}))(Tensor::ones({2, 6})), keel::ShapeError);
}
