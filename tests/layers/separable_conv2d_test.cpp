#include <catch2/catch.hpp>

#include "keel/keel.h"
#include "layer_test_support.h"
#include "support/temp_dir.h"

using Catch::Matchers::Contains;
using keel::Shape;
using keel::Tensor;
namespace layers = keel::layers;
using namespace layer_test;

TEST_CASE("SeparableConv2D output shapes and weights in Keras's order", "[layers][separable]") {
  struct Case {
    layers::SeparableConv2DLayer::Options options;
    Shape input, output;
  };
  std::vector<Case> cases = {
      {{.filters = 4, .kernel_size = 3}, {2, 8, 8, 3}, {2, 6, 6, 4}},
      {{.filters = 5, .kernel_size = 3, .strides = 2, .padding = "same", .depth_multiplier = 2}, {2, 7, 8, 3}, {2, 4, 4, 5}},
      {{.filters = 2, .kernel_size = 3, .data_format = "channels_first", .dilation_rate = 2}, {2, 3, 8, 9}, {2, 2, 4, 5}},
  };
  for (const Case& c : cases) {
    auto layer = layers::SeparableConv2D(c.options);
    CHECK(layer->compute_output_shape(c.input) == c.output);
    CHECK((*layer)(Tensor::ones(c.input)).shape() == c.output);
    const std::int64_t m = c.options.depth_multiplier;
    REQUIRE(layer->weights().size() == 3);
    CHECK(layer->weights()[0].name() == layer->name() + "/depthwise_kernel");
    CHECK(layer->weights()[0].shape() == Shape{c.options.kernel_size.h, c.options.kernel_size.w, 3, m});
    CHECK(layer->weights()[1].name() == layer->name() + "/pointwise_kernel");
    CHECK(layer->weights()[1].shape() == Shape{1, 1, 3 * m, c.options.filters});
    CHECK(layer->weights()[2].name() == layer->name() + "/bias");
    CHECK(layer->weights()[2].shape() == Shape{c.options.filters});
  }
}

TEST_CASE("SeparableConv2D forward on a hand-computed case", "[layers][separable]") {
  // Channel 0 holds 1..9, channel 1 holds 10 * (1..9). The depthwise 2x2 kernel sums channel 0's window
  // (12, 16, 24, 28) and takes channel 1's bottom-right value (50, 60, 80, 90); the pointwise kernel
  // weights them 1 and 0.5, bias 1: 12 + 25 + 1 = 38, 16 + 30 + 1 = 47, 24 + 40 + 1 = 65, 28 + 45 + 1 = 74.
  std::vector<double> values(18);
  for (int p = 0; p < 9; ++p) {
    values[p * 2] = p + 1;
    values[p * 2 + 1] = 10 * (p + 1);
  }
  Tensor x = Tensor::from_vector(values, {1, 3, 3, 2});
  auto layer = layers::SeparableConv2D({.filters = 1, .kernel_size = 2});
  layer->build_from(x.shape());
  layer->set_weights({Tensor::from_vector({1, 0, 1, 0, 1, 0, 1, 1}, {2, 2, 2, 1}),
                      Tensor::from_vector({1, 0.5}, {1, 1, 2, 1}), Tensor::from_vector({1}, {1})});
  check_values((*layer)(x), {38, 47, 65, 74});
}

TEST_CASE("SeparableConv2D equals DepthwiseConv2D then a 1x1 Conv2D", "[layers][separable]") {
  Float64Scope f64;
  for (const char* format : {"channels_last", "channels_first"}) {
    INFO(format);
    auto separable = layers::SeparableConv2D({.filters = 3,
                                              .kernel_size = 3,
                                              .strides = 2,
                                              .padding = "same",
                                              .data_format = format,
                                              .depth_multiplier = 2,
                                              .activation = "relu"});
    auto depthwise = layers::DepthwiseConv2D(
        {.kernel_size = 3, .strides = 2, .padding = "same", .depth_multiplier = 2, .data_format = format, .use_bias = false});
    auto pointwise = layers::Conv2D({.filters = 3, .kernel_size = 1, .data_format = format, .activation = "relu"});
    const Tensor x = uniform(std::string(format) == "channels_last" ? Shape{2, 7, 6, 3} : Shape{2, 3, 7, 6}, 8);
    (*separable)(x);
    (*pointwise)((*depthwise)(x));
    const std::vector<Tensor> w = separable->get_weights();
    depthwise->set_weights({w[0]});
    pointwise->set_weights({w[1], uniform({3}, 9)});
    separable->set_weights({w[0], w[1], pointwise->get_weights()[1]});
    check_values((*separable)(x), (*pointwise)((*depthwise)(x)).to_vector());
  }
}

TEST_CASE("SeparableConv2D gradients in float64 through the layer", "[layers][separable]") {
  Float64Scope f64;
  auto strided = layers::SeparableConv2D(
      {.filters = 3, .kernel_size = 3, .strides = 2, .padding = "same", .depth_multiplier = 2, .activation = "tanh"});
  check_layer_gradients(*strided, uniform({2, 5, 5, 2}, 4));
  auto dilated =
      layers::SeparableConv2D({.filters = 2, .kernel_size = 2, .data_format = "channels_first", .dilation_rate = 2});
  check_layer_gradients(*dilated, uniform({1, 3, 5, 4}, 5));
}

TEST_CASE("SeparableConv2D config round trip and registry entry", "[layers][separable]") {
  auto layer = layers::SeparableConv2D({.filters = 4,
                                        .kernel_size = {3, 2},
                                        .padding = "same",
                                        .data_format = "channels_first",
                                        .depth_multiplier = 2,
                                        .activation = "relu",
                                        .pointwise_initializer = "he_uniform",
                                        .pointwise_regularizer = "l1",
                                        .depthwise_constraint = keel::constraints::NonNeg{}});
  auto rebuilt = check_round_trip(layer, uniform({1, 2, 6, 5}, 6, keel::DType::float32));
  auto c = rebuilt->get_config();
  CHECK(c["filters"] == 4);
  CHECK(c["depth_multiplier"] == 2);
  CHECK(c["pointwise_initializer"] == layer->get_config()["pointwise_initializer"]);
  CHECK(c.contains("pointwise_regularizer"));
  CHECK(rebuilt->weights().size() == 3);
}

TEST_CASE("SeparableConv2D rejects bad arguments naming the layer, argument and value", "[layers][separable]") {
  REQUIRE_THROWS_WITH(layers::SeparableConv2D({.kernel_size = 3}, "sep"),
                      Contains("SeparableConv2D 'sep'") && Contains("filters") && Contains("0"));
  REQUIRE_THROWS_WITH(layers::SeparableConv2D({.filters = 2, .kernel_size = 3, .depth_multiplier = -1}, "sep"),
                      Contains("sep") && Contains("depth_multiplier") && Contains("-1"));
  REQUIRE_THROWS_WITH(layers::SeparableConv2D({.filters = 2, .kernel_size = 3, .strides = 2, .dilation_rate = 2}, "sep"),
                      Contains("sep") && Contains("dilation_rate"));
  REQUIRE_THROWS_WITH(layers::SeparableConv2D({.filters = 2, .kernel_size = 3, .padding = "causal"}, "sep"),
                      Contains("sep") && Contains("'causal'"));
  auto layer = layers::SeparableConv2D({.filters = 2, .kernel_size = 3}, "sep");
  REQUIRE_THROWS_WITH((*layer)(Tensor::ones({1, 4, 4})), Contains("sep") && Contains("rank"));
  REQUIRE_THROWS_WITH((*layer)(Tensor::ones({1, 2, 4, 1})), Contains("SeparableConv2D 'sep'") && Contains("height 2"));
}

TEST_CASE("a model of the new convolution and resampling layers saves and loads with the same predictions",
          "[layers][separable][saving]") {
  keel::test::TempDir dir("convs");
  keel::Sequential model({layers::Input({.shape = {8, 8, 3}}),
                          layers::SeparableConv2D({.filters = 4, .kernel_size = 3, .padding = "same", .depth_multiplier = 2}),
                          layers::DepthwiseConv2D({.kernel_size = 3, .strides = 2, .padding = "same"}),
                          layers::Conv2DTranspose({.filters = 3, .kernel_size = 3, .strides = 2, .padding = "same"}),
                          layers::UpSampling2D({.interpolation = "bilinear"}),
                          layers::Cropping2D({.cropping = {{1, 2}, {3, 0}}}),
                          layers::Reshape({.target_shape = {-1, 3}}),
                          layers::Conv1D({.filters = 2, .kernel_size = 3, .padding = "causal"}),
                          layers::MaxPooling1D({}),
                          layers::GlobalAveragePooling1D({})});
  model.build_from_declared_input();
  const Tensor x = uniform({2, 8, 8, 3}, 9, keel::DType::float32);
  model.save(dir / "convs.keel");
  auto loaded = keel::load_model(dir / "convs.keel");
  CHECK(loaded->predict(x).to_vector() == model.predict(x).to_vector());
  CHECK(loaded->count_params() == model.count_params());
}
