#include <catch2/catch.hpp>

#include <cmath>

#include "keel/core/error.h"
#include "keel/layers/spatial_dropout2d.h"
#include "layer_test_support.h"

using Catch::Matchers::Contains;
using keel::Tensor;
namespace layers = keel::layers;
using namespace layer_test;

TEST_CASE("SpatialDropout2D drops whole channels with probability rate and scales the rest", "[layers][spatial_dropout2d]") {
  auto drop = layers::SpatialDropout2D({.rate = 0.3, .seed = 1});
  const std::int64_t n = 200, h = 4, w = 4, c = 50;
  std::vector<double> y = (*drop)(Tensor::ones({n, h, w, c}), true).to_vector();
  double dropped = 0;
  for (std::int64_t s = 0; s < n; ++s)
    for (std::int64_t k = 0; k < c; ++k) {
      const double first = y[static_cast<std::size_t>(s * h * w * c + k)];
      CHECK((first == 0 || first == Approx(1 / 0.7)));
      for (std::int64_t p = 1; p < h * w; ++p) REQUIRE(y[static_cast<std::size_t>((s * h * w + p) * c + k)] == first);
      dropped += first == 0;
    }
  const double se = std::sqrt(0.3 * 0.7 / double(n * c));
  CHECK(dropped / double(n * c) == Approx(0.3).margin(5 * se));
}

TEST_CASE("SpatialDropout2D channels_first drops [N, C, 1, 1] planes", "[layers][spatial_dropout2d]") {
  auto drop = layers::SpatialDropout2D({.rate = 0.5, .data_format = "channels_first", .seed = 2});
  std::vector<double> y = (*drop)(Tensor::ones({8, 6, 3, 5}), true).to_vector();
  double dropped = 0;
  for (std::size_t plane = 0; plane < 8 * 6; ++plane) {
    for (std::size_t p = 1; p < 15; ++p) REQUIRE(y[plane * 15 + p] == y[plane * 15]);
    dropped += y[plane * 15] == 0;
  }
  CHECK(dropped > 0);
  CHECK(dropped < 48);
}

TEST_CASE("SpatialDropout2D is the identity outside training, seeds repeat, shares draw their own samples",
          "[layers][spatial_dropout2d]") {
  Tensor x = uniform({6, 3, 3, 4}, 131, keel::DType::float32);
  CHECK((*layers::SpatialDropout2D({.rate = 0.9}))(x).to_vector() == x.to_vector());
  CHECK((*layers::SpatialDropout2D({.rate = 0.0}))(x, true).to_vector() == x.to_vector());
  auto a = layers::SpatialDropout2D({.rate = 0.5, .seed = 7}), b = layers::SpatialDropout2D({.rate = 0.5, .seed = 7});
  CHECK((*a)(x, true).to_vector() == (*b)(x, true).to_vector());
  CHECK((*a)(x, true).to_vector() != (*layers::SpatialDropout2D({.rate = 0.5, .seed = 8}))(x, true).to_vector());
  auto whole = layers::SpatialDropout2D({.rate = 0.5, .seed = 9}), second = layers::SpatialDropout2D({.rate = 0.5, .seed = 9});
  std::vector<double> want = (*whole)(x, true).to_vector();
  std::vector<double> got = (*second)(x.narrow(0, 4, 2), layers::CallContext{.training = true, .first_sample = 4}).to_vector();
  CHECK(got == std::vector<double>(want.begin() + 4 * 36, want.end()));
}

TEST_CASE("SpatialDropout2D's gradient is its mask times the scale", "[layers][spatial_dropout2d]") {
  Float64Scope f64;
  auto drop = layers::SpatialDropout2D({.rate = 0.25, .seed = 3});
  Tensor x = uniform({4, 2, 2, 3}, 132);
  keel::set_requires_grad(x, true);
  Tensor y = (*drop)(x, true);
  keel::backward(keel::ops::sum(y));
  std::vector<double> g = keel::grad(x).to_vector(), yv = y.to_vector(), xv = x.to_vector();
  for (std::size_t i = 0; i < g.size(); ++i) {
    CHECK((g[i] == 0 || g[i] == Approx(1 / 0.75)));
    CHECK(yv[i] == Approx(xv[i] * g[i]));
  }
}

TEST_CASE("SpatialDropout2D config round trip and bad arguments", "[layers][spatial_dropout2d]") {
  auto rebuilt = check_round_trip(layers::SpatialDropout2D({.rate = 0.2, .data_format = "channels_first", .seed = 4}),
                                  uniform({2, 3, 2, 2}, 133, keel::DType::float32));
  CHECK(rebuilt->get_config()["data_format"] == "channels_first");
  CHECK(rebuilt->get_config()["seed"] == 4);
  REQUIRE_THROWS_WITH(layers::SpatialDropout2D({.rate = 1.0}, "sd_rate"), Contains("sd_rate") && Contains("rate") && Contains("1"));
  REQUIRE_THROWS_AS(layers::SpatialDropout2D({.rate = -0.1}), keel::ValueError);
  REQUIRE_THROWS_WITH(layers::SpatialDropout2D({.data_format = "NHWC"}), Contains("data_format") && Contains("NHWC"));
  REQUIRE_THROWS_AS((*layers::SpatialDropout2D({.rate = 0.5}))(Tensor::ones({2, 3, 4}), true), keel::ShapeError);
}
