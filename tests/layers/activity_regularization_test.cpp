#include <catch2/catch.hpp>

#include "keel/core/error.h"
#include "keel/layers/activity_regularization.h"
#include "layer_test_support.h"

using Catch::Matchers::Contains;
using keel::Tensor;
namespace layers = keel::layers;
using namespace layer_test;

TEST_CASE("ActivityRegularization passes its input and adds (l1 Σ|x| + l2 Σx²) / batch in training",
          "[layers][activity_regularization]") {
  Float64Scope f64;
  Tensor x = Tensor::from_vector({1, -2, 3, 0}, {2, 2}, keel::DType::float64);
  auto reg = layers::ActivityRegularization({.l1 = 0.1, .l2 = 0.2});
  CHECK((*reg)(x).to_vector() == x.to_vector());
  CHECK(reg->losses().empty());  // inference calls add nothing
  CHECK((*reg)(x, true).to_vector() == x.to_vector());
  REQUIRE(reg->losses().size() == 1);
  CHECK(reg->losses()[0].item() == Approx((0.1 * 6 + 0.2 * 14) / 2));
  check_layer_gradients(*layers::ActivityRegularization({.l1 = 0.5}), uniform({2, 3}, 161));
}

TEST_CASE("ActivityRegularization config round trip and bad factors", "[layers][activity_regularization]") {
  auto rebuilt = check_round_trip(layers::ActivityRegularization({.l1 = 0.01, .l2 = 0.02}), uniform({2, 3}, 162, keel::DType::float32));
  CHECK(rebuilt->get_config()["l1"] == 0.01);
  CHECK(rebuilt->get_config()["l2"] == 0.02);
  REQUIRE_THROWS_WITH(layers::ActivityRegularization({.l1 = -1}, "act_reg"), Contains("act_reg") && Contains("l1") && Contains("-1"));
  REQUIRE_THROWS_AS(layers::ActivityRegularization({.l2 = NAN}), keel::ValueError);
}
