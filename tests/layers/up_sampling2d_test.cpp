#include <catch2/catch.hpp>

#include "keel/autograd/ops.h"
#include "keel/core/error.h"
#include "keel/layers/up_sampling2d.h"
#include "layer_test_support.h"

using Catch::Matchers::Contains;
using keel::Shape;
using keel::Tensor;
namespace layers = keel::layers;
using namespace layer_test;

TEST_CASE("UpSampling2D nearest repeats rows and columns", "[layers][upsampling]") {
  // Keras's docstring example: arange(12) as [2, 2, 1, 3], size (1, 2) repeats each pixel along the width.
  Tensor x = Tensor::arange(0, 12).reshape({2, 2, 1, 3});
  auto layer = layers::UpSampling2D({.size = {1, 2}});
  Tensor y = (*layer)(x);
  CHECK(y.shape() == Shape{2, 2, 2, 3});
  check_values(y, {0, 1, 2, 0, 1, 2, 3, 4, 5, 3, 4, 5, 6, 7, 8, 6, 7, 8, 9, 10, 11, 9, 10, 11});
  // [[1, 2], [3, 4]] by (2, 1), channels_first: rows doubled.
  auto rows = layers::UpSampling2D({.size = {2, 1}, .data_format = "channels_first"});
  check_values((*rows)(Tensor::from_vector({1, 2, 3, 4}, {1, 1, 2, 2})), {1, 2, 1, 2, 3, 4, 3, 4});
  CHECK(rows->compute_output_shape({5, 3, 4, 6}) == Shape{5, 3, 8, 6});
}

TEST_CASE("UpSampling2D bilinear samples at half-pixel centers with clamped edges", "[layers][upsampling]") {
  // Output o reads source (o + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, 1.25 -> weights (1, 0), (0.75, 0.25),
  // (0.25, 0.75), (0, 1). [[1, 2], [3, 4]] is 1 + 2h + w, so the output is 1 + 2 * s(i) + s(j) with
  // s = (0, 0.25, 0.75, 1).
  auto layer = layers::UpSampling2D({.interpolation = "bilinear"});
  check_values((*layer)(Tensor::from_vector({1, 2, 3, 4}, {1, 2, 2, 1})),
               {1, 1.25, 1.75, 2, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3, 3.25, 3.75, 4});
  // Factor 3 over [0, 3]: sources -1/3, 0, 1/3, 2/3, 1, 4/3 -> 0, 0, 1, 2, 3, 3.
  auto wide = layers::UpSampling2D({.size = {1, 3}, .interpolation = "bilinear"});
  check_values((*wide)(Tensor::from_vector({0, 3}, {1, 1, 2, 1})), {0, 0, 1, 2, 3, 3}, 1e-6);
}

TEST_CASE("UpSampling2D bilinear resizes a long axis in memory proportional to the output", "[layers][upsampling]") {
  // A ramp 0 .. n-1 over 200,000 columns (a dense [2n, n] interpolation matrix would be 320 GB): output o is
  // the source coordinate (o + 0.5) / 2 - 0.5, clamped to [0, n - 1].
  const std::int64_t n = 200000;
  auto layer = layers::UpSampling2D({.size = {1, 2}, .interpolation = "bilinear"});
  const std::vector<double> y = (*layer)(Tensor::arange(0, n, 1, keel::DType::float64).reshape({1, 1, n, 1})).to_vector();
  REQUIRE(y.size() == static_cast<std::size_t>(2 * n));
  CHECK(y[0] == 0);
  CHECK(y[1] == 0.25);
  CHECK(y[2 * n - 2] == n - 1 - 0.25);
  CHECK(y[2 * n - 1] == n - 1);
}

TEST_CASE("UpSampling2D bilinear agrees across data formats, per channel", "[layers][upsampling]") {
  Float64Scope f64;
  const Tensor x = uniform({2, 3, 4, 5}, 3);
  auto nhwc = layers::UpSampling2D({.size = {2, 3}, .interpolation = "bilinear"});
  auto nchw = layers::UpSampling2D({.size = {2, 3}, .data_format = "channels_first", .interpolation = "bilinear"});
  const Tensor y = (*nhwc)(x);
  CHECK(y.shape() == Shape{2, 6, 12, 5});
  check_values(keel::ops::permute((*nchw)(keel::ops::permute(x, {0, 3, 1, 2})), {0, 2, 3, 1}), y.to_vector());
}

TEST_CASE("UpSampling2D gradients in float64", "[layers][upsampling]") {
  Float64Scope f64;
  for (const char* interpolation : {"nearest", "bilinear"}) {
    INFO(interpolation);
    auto nhwc = layers::UpSampling2D({.size = {2, 3}, .interpolation = interpolation});
    check_layer_gradients(*nhwc, uniform({2, 3, 2, 2}, 4));
    auto nchw = layers::UpSampling2D({.size = 2, .data_format = "channels_first", .interpolation = interpolation});
    check_layer_gradients(*nchw, uniform({1, 2, 3, 2}, 5));
  }
}

TEST_CASE("UpSampling2D config round trip and bad arguments", "[layers][upsampling]") {
  auto layer = layers::UpSampling2D({.size = {3, 2}, .data_format = "channels_first", .interpolation = "bilinear"});
  auto rebuilt = check_round_trip(layer, uniform({1, 2, 3, 4}, 6, keel::DType::float32));
  CHECK(rebuilt->get_config()["size"] == nlohmann::json::array({3, 2}));
  CHECK(rebuilt->get_config()["interpolation"] == "bilinear");
  REQUIRE_THROWS_WITH(layers::UpSampling2D({.size = {0, 2}}, "up"),
                      Contains("UpSampling2D 'up'") && Contains("size") && Contains("0"));
  REQUIRE_THROWS_WITH(layers::UpSampling2D({.interpolation = "bicubic"}, "up"),
                      Contains("up") && Contains("interpolation") && Contains("'bicubic'"));
  REQUIRE_THROWS_WITH(layers::UpSampling2D({.data_format = "NCHW"}, "up"), Contains("'NCHW'"));
  auto up = layers::UpSampling2D({}, "up");
  REQUIRE_THROWS_WITH((*up)(Tensor::ones({2, 3, 4})), Contains("up") && Contains("rank"));
}
