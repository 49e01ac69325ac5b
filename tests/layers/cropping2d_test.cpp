#include <catch2/catch.hpp>

#include "keel/core/error.h"
#include "keel/layers/cropping2d.h"
#include "layer_test_support.h"

using Catch::Matchers::Contains;
using keel::Shape;
using keel::Tensor;
namespace layers = keel::layers;
using namespace layer_test;

TEST_CASE("Cropping2D shapes for an int, a pair and per-side amounts", "[layers][cropping]") {
  CHECK(layers::Cropping2D({.cropping = 1})->compute_output_shape({2, 6, 5, 3}) == Shape{2, 4, 3, 3});
  CHECK(layers::Cropping2D({.cropping = {2, 1}})->compute_output_shape({2, 6, 5, 3}) == Shape{2, 2, 3, 3});
  CHECK(layers::Cropping2D({.cropping = {{1, 0}, {0, 2}}})->compute_output_shape({2, 6, 5, 3}) == Shape{2, 5, 3, 3});
  CHECK(layers::Cropping2D({.cropping = {{1, 0}, {0, 2}}, .data_format = "channels_first"})
            ->compute_output_shape({2, 3, 6, 5}) == Shape{2, 3, 5, 3});
  CHECK(layers::Cropping2D({})->compute_output_shape({2, 6, 5, 3}) == Shape{2, 6, 5, 3});  // Keras: no cropping
}

TEST_CASE("Cropping2D keeps the inner rows and columns", "[layers][cropping]") {
  // A 4x4 image holding 0..15, top 1, bottom 0, left 1, right 2: rows 1..3, column 1.
  auto layer = layers::Cropping2D({.cropping = {{1, 0}, {1, 2}}});
  Tensor y = (*layer)(Tensor::arange(0, 16).reshape({1, 4, 4, 1}));
  CHECK(y.shape() == Shape{1, 3, 1, 1});
  check_values(y, {5, 9, 13});
  auto first = layers::Cropping2D({.cropping = {{0, 1}, {0, 0}}, .data_format = "channels_first"});
  check_values((*first)(Tensor::arange(0, 8).reshape({1, 2, 2, 2})), {0, 1, 4, 5});
}

TEST_CASE("Cropping2D gradients in float64", "[layers][cropping]") {
  Float64Scope f64;
  auto layer = layers::Cropping2D({.cropping = {{1, 2}, {0, 1}}});
  check_layer_gradients(*layer, uniform({2, 5, 4, 2}, 3));
}

TEST_CASE("Cropping2D config round trip and bad arguments", "[layers][cropping]") {
  auto layer = layers::Cropping2D({.cropping = {{1, 2}, {3, 0}}, .data_format = "channels_first"});
  auto rebuilt = check_round_trip(layer, uniform({1, 2, 5, 6}, 6, keel::DType::float32));
  CHECK(rebuilt->get_config()["cropping"] == nlohmann::json::parse("[[1, 2], [3, 0]]"));
  // Keras's int and pair forms.
  auto pair = layers::deserialize(nlohmann::json::parse(R"({"class_name": "Cropping2D", "config": {"cropping": [1, 2]}})"));
  CHECK(pair->get_config()["cropping"] == nlohmann::json::parse("[[1, 1], [2, 2]]"));
  REQUIRE_THROWS_WITH(layers::Cropping2D({.cropping = {{1, -1}, {0, 0}}}, "crop"),
                      Contains("Cropping2D 'crop'") && Contains("cropping") && Contains("-1"));
  REQUIRE_THROWS_AS(layers::deserialize(nlohmann::json::parse(
                        R"({"class_name": "Cropping2D", "config": {"cropping": "all"}})")),
                    keel::ValueError);
  auto crop = layers::Cropping2D({.cropping = {{2, 2}, {0, 0}}}, "crop");
  REQUIRE_THROWS_WITH((*crop)(Tensor::ones({1, 4, 5, 1})), Contains("crop") && Contains("height 4"));
  REQUIRE_THROWS_WITH(crop->compute_output_shape({1, 5, 5}), Contains("crop") && Contains("rank"));
}
