#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <vector>

#include "keel/core/error.h"
#include "keel/layers/random_translation.h"
#include "layer_test_support.h"

using Catch::Matchers::Contains;
using keel::Tensor;
namespace layers = keel::layers;
using namespace layer_test;

namespace {

// A 4x4 single-channel image with pixel (y, x) = 10·y + x.
Tensor grid4() {
  std::vector<double> v;
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 4; ++x) v.push_back(10 * y + x);
  return Tensor::from_vector(v, {1, 4, 4, 1}, keel::DType::float64);
}

// A fixed shift: both factors' ranges are single points.
layers::RandomTranslationLayer::Options fixed(double height, double width, const char* fill_mode,
                                              const char* interpolation = "bilinear", double fill_value = 0.0) {
  return {.height_factor = {height, height},
          .width_factor = {width, width},
          .fill_mode = fill_mode,
          .interpolation = interpolation,
          .seed = 1,
          .fill_value = fill_value};
}

}  // namespace

TEST_CASE("RandomTranslation is the identity outside training", "[layers][random_translation]") {
  Tensor x = uniform({3, 5, 6, 2}, 40, keel::DType::float32);
  CHECK((*layers::RandomTranslation({.height_factor = 0.3, .width_factor = 0.3}))(x).to_vector() == x.to_vector());
  CHECK((*layers::RandomTranslation({.height_factor = 0.3, .width_factor = 0.3}))(x, false).to_vector() == x.to_vector());
  CHECK((*layers::RandomTranslation({.height_factor = 0.3, .width_factor = 0.3}))(x, true).shape() == x.shape());
}

TEST_CASE("RandomTranslation shifts down 1 and left 2 with each fill mode", "[layers][random_translation]") {
  Float64Scope f64;
  // height 0.25 of 4 rows: down 1; width -0.5 of 4 columns: left 2. output(y, x) = input(y - 1, x + 2).
  const std::map<std::string, std::vector<double>> want = {
      {"constant", {-1, -1, -1, -1, 2, 3, -1, -1, 12, 13, -1, -1, 22, 23, -1, -1}},
      {"nearest", {2, 3, 3, 3, 2, 3, 3, 3, 12, 13, 13, 13, 22, 23, 23, 23}},
      {"reflect", {2, 3, 3, 2, 2, 3, 3, 2, 12, 13, 13, 12, 22, 23, 23, 22}},
      {"wrap", {32, 33, 30, 31, 2, 3, 0, 1, 12, 13, 10, 11, 22, 23, 20, 21}},
  };
  for (const auto& [mode, values] : want) {
    INFO(mode);
    for (const char* interpolation : {"bilinear", "nearest"}) {
      INFO(interpolation);
      check_values((*layers::RandomTranslation(fixed(0.25, -0.5, mode.c_str(), interpolation, -1.0)))(grid4(), true),
                   values);
    }
  }
}

TEST_CASE("RandomTranslation interpolates fractional shifts", "[layers][random_translation]") {
  Float64Scope f64;
  Tensor row = Tensor::from_vector({0, 2, 4, 8}, {1, 1, 4, 1}, keel::DType::float64);
  // Right by 0.5: output(x) = (input(x - 1) + input(x)) / 2, input(-1) = input(0) under reflect.
  check_values((*layers::RandomTranslation(fixed(0, 0.125, "reflect")))(row, true), {0, 1, 3, 6});
  // The same with constant fill 10 outside.
  check_values((*layers::RandomTranslation(fixed(0, 0.125, "constant", "bilinear", 10)))(row, true), {5, 1, 3, 6});
  // Left by 0.75: output(x) = input(x + 0.75) = 0.25 input(x) + 0.75 input(x + 1), input(4) = input(3).
  check_values((*layers::RandomTranslation(fixed(0, -0.1875, "reflect")))(row, true), {1.5, 3.5, 7, 8});
  // Nearest interpolation rounds the source coordinate x + 0.75 to x + 1.
  check_values((*layers::RandomTranslation(fixed(0, -0.1875, "reflect", "nearest")))(row, true), {2, 4, 8, 8});
  // A shift of 0.25 rounds back to the pixel itself.
  check_values((*layers::RandomTranslation(fixed(0, 0.0625, "constant", "nearest", 10)))(row, true), {0, 2, 4, 8});
}

TEST_CASE("RandomTranslation moves every channel alike and takes an unbatched image", "[layers][random_translation]") {
  Float64Scope f64;
  Tensor x = Tensor::from_vector({1, -1, 2, -2, 3, -3, 4, -4}, {2, 2, 2});  // [H, W, C]
  Tensor y = (*layers::RandomTranslation(fixed(-0.5, 0, "constant", "bilinear", 9)))(x, true);  // up 1
  CHECK(y.shape() == keel::Shape{2, 2, 2});
  check_values(y, {3, -3, 4, -4, 9, 9, 9, 9});
}

TEST_CASE("RandomTranslation draws each image's shift uniformly from its factor range", "[layers][random_translation]") {
  Float64Scope f64;
  // Eight columns, a one-hot pixel at column 0, width factor [0, 0.5]: shifts right by U(0, 4),
  // rounded to the nearest pixel (0 and 4 half as likely as 1, 2, 3); never left, never vertical.
  const std::int64_t n = 4000;
  std::vector<double> v(static_cast<std::size_t>(n * 8), 0.0);
  for (std::int64_t i = 0; i < n; ++i) v[static_cast<std::size_t>(i * 8)] = 1.0;
  Tensor x = Tensor::from_vector(v, {n, 1, 8, 1}, keel::DType::float64);
  // The range is given upside down ({0.5, 0}); Keras sorts it.
  auto shift = layers::RandomTranslation(
      {.height_factor = 0.0, .width_factor = {0.5, 0.0}, .fill_mode = "constant", .interpolation = "nearest", .seed = 2});
  std::vector<double> y = (*shift)(x, true).to_vector();
  std::vector<double> counts(8, 0.0);
  for (std::int64_t i = 0; i < n; ++i)
    for (int col = 0; col < 8; ++col)
      if (y[static_cast<std::size_t>(i * 8 + col)] == 1.0) counts[static_cast<std::size_t>(col)] += 1;
  double total = 0;
  for (double c : counts) total += c;
  CHECK(total == n);
  const std::vector<double> p = {0.125, 0.25, 0.25, 0.25, 0.125, 0, 0, 0};
  for (int col = 0; col < 8; ++col) {
    INFO("column " << col);
    CHECK(counts[static_cast<std::size_t>(col)] / double(n) == Approx(p[static_cast<std::size_t>(col)]).margin(5 * std::sqrt(0.25 / double(n))));
  }
}

TEST_CASE("a seeded RandomTranslation draws a reproducible sequence of shifts", "[layers][random_translation]") {
  Tensor x = uniform({16, 6, 6, 1}, 41, keel::DType::float32);
  layers::RandomTranslationLayer::Options o{.height_factor = 0.2, .width_factor = 0.2, .seed = 6};
  auto a = layers::RandomTranslation(o), b = layers::RandomTranslation(o);
  std::vector<double> a1 = (*a)(x, true).to_vector(), a2 = (*a)(x, true).to_vector();
  CHECK(a1 != a2);
  CHECK((*b)(x, true).to_vector() == a1);
  CHECK((*b)(x, true).to_vector() == a2);
  CHECK((*layers::deserialize(layers::RandomTranslation(o)->serialize()))(x, true).to_vector() == a1);
  auto unseeded = layers::RandomTranslation({.height_factor = 0.2, .width_factor = 0.2});
  CHECK((*unseeded)(x, true).to_vector() != (*unseeded)(x, true).to_vector());
}

TEST_CASE("RandomTranslation's input gradient matches finite differences", "[layers][random_translation]") {
  Float64Scope f64;
  Tensor x = uniform({2, 5, 4, 2}, 42);
  for (const char* mode : {"reflect", "wrap", "constant", "nearest"}) {
    INFO(mode);
    auto shift = layers::RandomTranslation(fixed(0.3, -0.35, mode, "bilinear", 0.5));
    keel::GradcheckResult r = keel::gradcheck([&](const std::vector<Tensor>& in) { return (*shift)(in[0], true); }, {x});
    INFO(r.message);
    CHECK(r.ok);
  }
}

TEST_CASE("RandomTranslation config round trip and bad arguments", "[layers][random_translation]") {
  auto shift = layers::RandomTranslation(
      {.height_factor = 0.2, .width_factor = {0.3, -0.1}, .fill_mode = "constant", .seed = 3, .fill_value = 0.5}, "shift_rt");
  auto rebuilt = check_round_trip(shift, uniform({2, 4, 4, 1}, 43, keel::DType::float32));
  const nlohmann::json c = rebuilt->get_config();
  CHECK(c["height_factor"] == nlohmann::json::array({-0.2, 0.2}));
  CHECK(c["width_factor"] == nlohmann::json::array({-0.1, 0.3}));
  CHECK(c["fill_mode"] == "constant");
  CHECK(c["interpolation"] == "bilinear");
  CHECK(c["fill_value"] == 0.5);
  CHECK(c["seed"] == 3);
  CHECK(layers::RandomTranslation({})->get_config()["fill_mode"] == "reflect");
  nlohmann::json keras_style = {{"class_name", "RandomTranslation"},
                                {"config", {{"height_factor", 0.1}, {"width_factor", {-0.2, 0.0}}}}};
  auto from_keras = std::dynamic_pointer_cast<layers::RandomTranslationLayer>(layers::deserialize(keras_style));
  REQUIRE(from_keras);
  CHECK(from_keras->options().height_factor == layers::TranslationFactor(-0.1, 0.1));
  CHECK(from_keras->options().width_factor == layers::TranslationFactor(-0.2, 0.0));

  REQUIRE_THROWS_WITH(layers::RandomTranslation({.height_factor = 1.5}, "shift_bad"),
                      Contains("shift_bad") && Contains("height_factor") && Contains("1.5"));
  REQUIRE_THROWS_WITH(layers::RandomTranslation({.width_factor = {-1.2, 0.0}}), Contains("width_factor") && Contains("-1.2"));
  REQUIRE_THROWS_WITH(layers::RandomTranslation({.fill_mode = "mirror"}), Contains("fill_mode") && Contains("mirror"));
  REQUIRE_THROWS_WITH(layers::RandomTranslation({.interpolation = "bicubic"}), Contains("interpolation") && Contains("bicubic"));
  REQUIRE_THROWS_WITH(layers::RandomTranslation({.fill_value = std::nan("")}), Contains("fill_value"));
  REQUIRE_THROWS_AS(layers::RandomTranslation({.height_factor = std::nan("")}), keel::ValueError);
  nlohmann::json channels_first = shift->serialize();
  channels_first["config"]["data_format"] = "channels_first";
  REQUIRE_THROWS_WITH(layers::deserialize(channels_first), Contains("RandomTranslation") && Contains("data_format"));
  REQUIRE_THROWS_AS((*layers::RandomTranslation({}))(Tensor::ones({4, 4}), true), keel::ShapeError);
}
