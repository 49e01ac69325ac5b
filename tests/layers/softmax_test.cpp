#include <catch2/catch.hpp>

#include <cmath>

#include "keel/core/error.h"
#include "keel/layers/softmax.h"
#include "layer_test_support.h"

using Catch::Matchers::Contains;
using keel::Tensor;
namespace layers = keel::layers;
using namespace layer_test;

namespace {
std::shared_ptr<layers::SoftmaxLayer> softmax64(layers::SoftmaxLayer::Options options = {}) {
  auto layer = layers::Softmax(std::move(options));
  layer->set_dtype(keel::DType::float64);
  return layer;
}
}  // namespace

TEST_CASE("Softmax normalizes exp over the last axis by default", "[layers][softmax]") {
  const double s = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  Tensor x = Tensor::from_vector({1, 2, 3, 0, 0, 0}, {2, 3}, keel::DType::float64);
  check_values((*softmax64())(x), {std::exp(1.0) / s, std::exp(2.0) / s, std::exp(3.0) / s, 1.0 / 3, 1.0 / 3, 1.0 / 3});
  // axis 0: each column [a, b] gives e^a / (e^a + e^b).
  auto col = [](double a, double b) { return std::exp(a) / (std::exp(a) + std::exp(b)); };
  check_values((*softmax64({.axis = {0}}))(x), {col(1, 0), col(2, 0), col(3, 0), col(0, 1), col(0, 2), col(0, 3)});
}

TEST_CASE("Softmax over several axes normalizes over all of them together", "[layers][softmax]") {
  Tensor x = Tensor::from_vector({0, 1, 2, 3, 3, 2, 1, 0}, {2, 2, 2}, keel::DType::float64);
  const double s = 1 + std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  std::vector<double> want;
  for (double v : {0, 1, 2, 3, 3, 2, 1, 0}) want.push_back(std::exp(v) / s);
  check_values((*softmax64({.axis = {1, 2}}))(x), want);
  // Axes {0, 2}: the slices x[:, j, :] are normalized: j = 0 holds {0, 1, 3, 2}.
  Tensor y = (*softmax64({.axis = {2, 0}}))(x);
  check_values(y, {1 / s, std::exp(1.0) / s, std::exp(2.0) / s, std::exp(3.0) / s, std::exp(3.0) / s,
                   std::exp(2.0) / s, std::exp(1.0) / s, 1 / s});
  Float64Scope f64;
  check_layer_gradients(*layers::Softmax({.axis = {0, 2}}), uniform({2, 3, 4}, 71));
  check_layer_gradients(*layers::Softmax(), uniform({3, 4}, 72));
}

TEST_CASE("Softmax with a mask gives masked positions 0 and renormalizes over the rest", "[layers][softmax]") {
  Tensor x = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3}, keel::DType::float64);
  Tensor mask = Tensor::from_vector({1, 0, 1, 0, 0, 0}, {2, 3}, keel::DType::boolean);
  const double s = std::exp(1.0) + std::exp(3.0);
  check_values((*softmax64())(x, layers::CallContext{.mask = mask}), {std::exp(1.0) / s, 0, std::exp(3.0) / s, 0, 0, 0});
  // A float mask keeps values > 0.5; a [1, 3] mask broadcasts over the rows.
  Tensor row_mask = Tensor::from_vector({0.9, 0.2, 0.6}, {1, 3}, keel::DType::float64);
  const double r = std::exp(4.0) + std::exp(6.0);
  check_values((*softmax64())(x, layers::CallContext{.mask = row_mask}),
               {std::exp(1.0) / s, 0, std::exp(3.0) / s, std::exp(4.0) / r, 0, std::exp(6.0) / r});
  REQUIRE_THROWS_WITH((*softmax64())(x, layers::CallContext{.mask = Tensor::ones({3, 2}, keel::DType::boolean)}),
                      Contains("Softmax") && Contains("mask") && Contains("[3, 2]"));
}

TEST_CASE("Softmax config round trip and bad axes", "[layers][softmax]") {
  auto rebuilt = check_round_trip(layers::Softmax({.axis = {1}}), uniform({2, 3}, 73, keel::DType::float32));
  CHECK(rebuilt->get_config()["axis"] == 1);
  CHECK(check_round_trip(layers::Softmax({.axis = {1, 2}}), uniform({2, 3, 2}, 74, keel::DType::float32))
            ->get_config()["axis"] == nlohmann::json::array({1, 2}));
  REQUIRE_THROWS_WITH((*layers::Softmax({.axis = {3}}, "soft_axis"))(Tensor::ones({2, 3})),
                      Contains("soft_axis") && Contains("axis 3") && Contains("[2, 3]"));
  REQUIRE_THROWS_WITH((*layers::Softmax({.axis = {1, -1}}))(Tensor::ones({2, 3})), Contains("twice"));
  REQUIRE_THROWS_AS(layers::Softmax({.axis = {}}), keel::ValueError);
}
