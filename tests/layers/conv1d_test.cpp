#include <catch2/catch.hpp>

#include "keel/autograd/ops.h"
#include "keel/core/error.h"
#include "keel/layers/conv1d.h"
#include "layer_test_support.h"

using Catch::Matchers::Contains;
using keel::Shape;
using keel::Tensor;
namespace layers = keel::layers;
using namespace layer_test;

TEST_CASE("Conv1D output shapes and kernel layout", "[layers][conv1d]") {
  struct Case {
    layers::Conv1DLayer::Options options;
    Shape input, output, kernel;
  };
  std::vector<Case> cases = {
      {{.filters = 4, .kernel_size = 3}, {2, 10, 3}, {2, 8, 4}, {3, 3, 4}},
      {{.filters = 4, .kernel_size = 3, .strides = 2, .padding = "same"}, {2, 9, 3}, {2, 5, 4}, {3, 3, 4}},
      {{.filters = 4, .kernel_size = 3, .padding = "causal", .dilation_rate = 2}, {2, 9, 3}, {2, 9, 4}, {3, 3, 4}},
      {{.filters = 4, .kernel_size = 3, .strides = 3, .padding = "causal"}, {2, 10, 3}, {2, 4, 4}, {3, 3, 4}},
      {{.filters = 6, .kernel_size = 2, .data_format = "channels_first", .groups = 3}, {2, 3, 7}, {2, 6, 6}, {2, 1, 6}},
  };
  for (const Case& c : cases) {
    auto conv = layers::Conv1D(c.options);
    CHECK(conv->compute_output_shape(c.input) == c.output);
    CHECK((*conv)(Tensor::ones(c.input)).shape() == c.output);
    CHECK(conv->weights()[0].name() == conv->name() + "/kernel");
    CHECK(conv->weights()[0].shape() == c.kernel);
    CHECK(conv->weights()[1].shape() == Shape{c.options.filters});
  }
}

TEST_CASE("Conv1D forward with valid, same and causal padding", "[layers][conv1d]") {
  // x = 1..5, kernel (1, 2): y[t] = x[t] + 2 x[t + 1] over the padded sequence.
  const Tensor x = Tensor::from_vector({1, 2, 3, 4, 5}, {1, 5, 1});
  auto run = [&](layers::Conv1DLayer::Options o) {
    o.filters = 1;
    o.use_bias = false;
    auto conv = layers::Conv1D(o);
    conv->build_from(x.shape());
    conv->set_weights({Tensor::from_vector({1, 2}, {2, 1, 1})});
    return (*conv)(x);
  };
  check_values(run({.kernel_size = 2}), {5, 8, 11, 14});
  check_values(run({.kernel_size = 2, .padding = "same"}), {5, 8, 11, 14, 5});  // the pad goes after
  check_values(run({.kernel_size = 2, .padding = "causal"}), {2, 5, 8, 11, 14});  // one zero before
  // Dilation 2, two zeros before: x[t - 2] + 2 x[t].
  check_values(run({.kernel_size = 2, .padding = "causal", .dilation_rate = 2}), {2, 4, 7, 10, 13});
}

TEST_CASE("Conv1D groups connect each channel group to its own filters", "[layers][conv1d]") {
  // Two groups of one channel each, kernel size 1: filter 0 scales channel 0 by 3, filter 1 channel 1 by -2.
  auto conv = layers::Conv1D({.filters = 2, .kernel_size = 1, .groups = 2});
  const Tensor x = Tensor::from_vector({1, 10, 2, 20}, {1, 2, 2});
  conv->build_from(x.shape());
  conv->set_weights({Tensor::from_vector({3, -2}, {1, 1, 2}), Tensor::from_vector({0.5, 0}, {2})});
  check_values((*conv)(x), {3.5, -20, 6.5, -40});
}

TEST_CASE("Conv1D gradients in float64", "[layers][conv1d]") {
  Float64Scope f64;
  auto causal = layers::Conv1D({.filters = 2, .kernel_size = 3, .padding = "causal", .dilation_rate = 2, .activation = "tanh"});
  check_layer_gradients(*causal, uniform({2, 6, 3}, 4));
  auto grouped = layers::Conv1D(
      {.filters = 4, .kernel_size = 2, .strides = 2, .padding = "same", .data_format = "channels_first", .groups = 2});
  check_layer_gradients(*grouped, uniform({2, 4, 5}, 5));
}

TEST_CASE("Conv1D config round trip and Keras's tuple form", "[layers][conv1d]") {
  auto conv = layers::Conv1D({.filters = 4,
                              .kernel_size = 3,
                              .padding = "causal",
                              .dilation_rate = 2,
                              .groups = 2,
                              .activation = "relu",
                              .kernel_regularizer = "l2"});
  auto rebuilt = check_round_trip(conv, uniform({1, 7, 4}, 6, keel::DType::float32));
  CHECK(rebuilt->get_config()["kernel_size"] == nlohmann::json::array({3}));
  CHECK(rebuilt->get_config()["groups"] == 2);
  auto keras = layers::deserialize(nlohmann::json::parse(
      R"({"class_name": "Conv1D", "config": {"filters": 2, "kernel_size": [5], "strides": [2], "dilation_rate": 1}})"));
  CHECK(keras->compute_output_shape({1, 11, 3}) == Shape{1, 4, 2});
  REQUIRE_THROWS_AS(layers::deserialize(nlohmann::json::parse(
                        R"({"class_name": "Conv1D", "config": {"filters": 2, "kernel_size": [5, 5]}})")),
                    keel::ValueError);
}

TEST_CASE("Conv1D rejects bad arguments naming the layer, argument and value", "[layers][conv1d]") {
  REQUIRE_THROWS_WITH(layers::Conv1D({.filters = 2}, "c1"), Contains("Conv1D 'c1'") && Contains("kernel_size"));
  REQUIRE_THROWS_WITH(layers::Conv1D({.filters = 2, .kernel_size = 3, .padding = "full"}, "c1"),
                      Contains("c1") && Contains("'full'"));
  REQUIRE_THROWS_WITH(layers::Conv1D({.filters = 3, .kernel_size = 3, .groups = 2}, "c1"),
                      Contains("c1") && Contains("filters (3)") && Contains("groups (2)"));
  REQUIRE_THROWS_WITH(layers::Conv1D({.filters = 2, .kernel_size = 3, .strides = 2, .dilation_rate = 2}, "c1"),
                      Contains("c1") && Contains("dilation_rate"));
  auto grouped = layers::Conv1D({.filters = 2, .kernel_size = 1, .groups = 2}, "c1");
  REQUIRE_THROWS_WITH((*grouped)(Tensor::ones({1, 4, 3})), Contains("c1") && Contains("3 channels"));
  auto conv = layers::Conv1D({.filters = 2, .kernel_size = 3}, "c1");
  REQUIRE_THROWS_WITH((*conv)(Tensor::ones({1, 4, 4, 3})), Contains("c1") && Contains("rank-3"));
  (*conv)(Tensor::ones({1, 4, 3}));
  REQUIRE_THROWS_WITH((*conv)(Tensor::ones({1, 2, 3})), Contains("steps 2"));
}

TEST_CASE("Conv1D causal with a dilation beyond the sequence pads no more than it reads", "[layers][conv1d]") {
  // Kernel 3 with taps a billion steps apart: only the last tap (lag 0) meets the 5-step sequence, so
  // y[t] = k[2] x[t] (instead of a tensor of two billion leading zeros).
  auto conv = layers::Conv1D({.filters = 1, .kernel_size = 3, .padding = "causal", .dilation_rate = 1000000000, .use_bias = false});
  const Tensor x = Tensor::from_vector({1, 2, 3, 4, 5}, {1, 5, 1});
  conv->build_from(x.shape());
  conv->set_weights({Tensor::from_vector({7, 11, 2}, {3, 1, 1})});
  check_values((*conv)(x), {2, 4, 6, 8, 10});
  Float64Scope f64;
  // Dilation 3 over 4 steps: lags 0 and 3 reach the sequence, lag 6 never does (its gradient is zero).
  check_layer_gradients(*layers::Conv1D({.filters = 2, .kernel_size = 3, .padding = "causal", .dilation_rate = 3}),
                        uniform({2, 4, 2}, 9));
}
