#include <catch2/catch.hpp>

#include "keel/autograd/ops.h"
#include "keel/core/error.h"
#include "keel/layers/resizing.h"
#include "layer_test_support.h"

using Catch::Matchers::Contains;
using keel::Shape;
using keel::Tensor;
namespace layers = keel::layers;
using namespace layer_test;

// Output o of n reads source (o + 0.5) · in / n − 0.5 (half-pixel centers, tf.image.resize).
TEST_CASE("Resizing bilinear reads half-pixel centers with clamped edges", "[layers][resizing]") {
  // 4 -> 2: sources 0.5 and 2.5, the means of neighbouring pairs.
  auto half = layers::Resizing({.height = 1, .width = 2});
  check_values((*half)(Tensor::from_vector({0, 1, 2, 3}, {1, 1, 4, 1})), {0.5, 2.5});
  // 2 -> 3: sources -1/6 (clamped to pixel 0), 0.5, 7/6 (clamped to pixel 1).
  auto three = layers::Resizing({.height = 1, .width = 3});
  check_values((*three)(Tensor::from_vector({0, 3}, {1, 1, 2, 1})), {0, 1.5, 3}, 1e-6);
  // Both axes: [[1, 2], [3, 4]] (1 + 2h + w) to 3 x 3 gives 1 + 2 s(i) + s(j), s = (0, 0.5, 1).
  auto both = layers::Resizing({.height = 3, .width = 3});
  check_values((*both)(Tensor::from_vector({1, 2, 3, 4}, {1, 2, 2, 1})), {1, 1.5, 2, 2, 2.5, 3, 3, 3.5, 4}, 1e-6);
}

TEST_CASE("Resizing nearest takes pixel floor((o + 0.5) * in / out)", "[layers][resizing]") {
  auto half = layers::Resizing({.height = 1, .width = 2, .interpolation = "nearest"});
  check_values((*half)(Tensor::from_vector({0, 1, 2, 3}, {1, 1, 4, 1})), {1, 3});
  auto three = layers::Resizing({.height = 1, .width = 3, .interpolation = "nearest"});
  check_values((*three)(Tensor::from_vector({5, 7}, {1, 1, 2, 1})), {5, 7, 7});
}

TEST_CASE("Resizing 28 x 28 to 32 x 32 keeps a constant image and the channels apart", "[layers][resizing]") {
  auto layer = layers::Resizing({.height = 32, .width = 32});
  Tensor x = keel::ops::concat({Tensor::full({2, 28, 28, 1}, 0.25), Tensor::full({2, 28, 28, 1}, 7.0)}, 3);
  Tensor y = (*layer)(x);
  CHECK(y.shape() == Shape{2, 32, 32, 2});
  CHECK(layer->compute_output_shape({5, 28, 28, 2}) == Shape{5, 32, 32, 2});
  CHECK(keel::ops::min(y.narrow(3, 0, 1)).item() == Approx(0.25));
  CHECK(keel::ops::max(y.narrow(3, 0, 1)).item() == Approx(0.25));
  CHECK(keel::ops::min(y.narrow(3, 1, 1)).item() == Approx(7.0));
  auto nchw = layers::Resizing({.height = 3, .width = 3, .data_format = "channels_first"});
  CHECK((*nchw)(Tensor::ones({1, 2, 5, 5})).shape() == Shape{1, 2, 3, 3});
}

TEST_CASE("Resizing crop_to_aspect_ratio takes the largest centered window first", "[layers][resizing]") {
  // 2 x 4 image (rows 0..3 and 4..7) to 2 x 2: the window is 2 x 2 at column 1, no resizing left to do.
  auto layer = layers::Resizing({.height = 2, .width = 2, .crop_to_aspect_ratio = true});
  check_values((*layer)(Tensor::arange(0, 8).reshape({1, 2, 4, 1})), {1, 2, 5, 6});
  // Without the crop the 4 columns are squeezed to 2: means of column pairs.
  auto squeezed = layers::Resizing({.height = 2, .width = 2});
  check_values((*squeezed)(Tensor::arange(0, 8).reshape({1, 2, 4, 1})), {0.5, 2.5, 4.5, 6.5});
}

TEST_CASE("Resizing gradients in float64", "[layers][resizing]") {
  Float64Scope f64;
  for (const char* interpolation : {"bilinear", "nearest"}) {
    INFO(interpolation);
    auto layer = layers::Resizing({.height = 3, .width = 5, .interpolation = interpolation});
    check_layer_gradients(*layer, uniform({2, 4, 3, 2}, 4));
  }
}

TEST_CASE("Resizing config round trip and bad arguments", "[layers][resizing]") {
  auto layer = layers::Resizing({.height = 3, .width = 2, .interpolation = "nearest", .crop_to_aspect_ratio = true});
  auto rebuilt = check_round_trip(layer, uniform({1, 4, 4, 2}, 6, keel::DType::float32));
  CHECK(rebuilt->get_config()["height"] == 3);
  CHECK(rebuilt->get_config()["interpolation"] == "nearest");
  CHECK(rebuilt->get_config()["crop_to_aspect_ratio"] == true);
  REQUIRE_THROWS_WITH(layers::Resizing({.height = 0, .width = 2}, "rs"), Contains("Resizing 'rs'") && Contains("height"));
  REQUIRE_THROWS_WITH(layers::Resizing({.height = 2, .width = 2, .interpolation = "bicubic"}, "rs"),
                      Contains("rs") && Contains("'bicubic'") && Contains("bilinear"));
  REQUIRE_THROWS_WITH(layers::Resizing({.height = 2, .width = 2, .pad_to_aspect_ratio = true}, "rs"),
                      Contains("pad_to_aspect_ratio"));
  REQUIRE_THROWS_WITH(layers::Resizing({.height = 2, .width = 2, .antialias = true}, "rs"), Contains("antialias"));
  auto rs = layers::Resizing({.height = 2, .width = 2}, "rs");
  REQUIRE_THROWS_WITH((*rs)(Tensor::ones({2, 3, 4})), Contains("rs") && Contains("rank"));
}
