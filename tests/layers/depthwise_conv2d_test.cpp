#include <catch2/catch.hpp>

#include "keel/keel.h"
#include "layer_test_support.h"

using Catch::Matchers::Contains;
using keel::DType;
using keel::Shape;
using keel::Tensor;
namespace layers = keel::layers;
using namespace layer_test;

TEST_CASE("DepthwiseConv2D output shapes and weights as Keras stores them", "[layers][depthwise]") {
  struct Case {
    layers::DepthwiseConv2DLayer::Options options;
    Shape input, output;
  };
  std::vector<Case> cases = {
      {{.kernel_size = 3}, {2, 8, 8, 3}, {2, 6, 6, 3}},
      {{.kernel_size = 3, .padding = "same", .depth_multiplier = 2}, {2, 8, 8, 3}, {2, 8, 8, 6}},
      {{.kernel_size = 3, .strides = 2, .padding = "same"}, {2, 7, 8, 3}, {2, 4, 4, 3}},
      {{.kernel_size = {3, 1}, .strides = {2, 1}}, {2, 8, 8, 3}, {2, 3, 8, 3}},
      {{.kernel_size = 3, .dilation_rate = 2}, {2, 8, 8, 3}, {2, 4, 4, 3}},
      {{.kernel_size = 3, .depth_multiplier = 3, .data_format = "channels_first"}, {2, 3, 8, 6}, {2, 9, 6, 4}},
  };
  for (const Case& c : cases) {
    auto layer = layers::DepthwiseConv2D(c.options);
    CHECK(layer->compute_output_shape(c.input) == c.output);
    CHECK((*layer)(Tensor::ones(c.input)).shape() == c.output);
    const std::int64_t m = c.options.depth_multiplier;
    REQUIRE(layer->weights().size() == 2);
    CHECK(layer->weights()[0].shape() == Shape{c.options.kernel_size.h, c.options.kernel_size.w, 3, m});
    CHECK(layer->weights()[0].name() == layer->name() + "/depthwise_kernel");
    CHECK(layer->weights()[1].shape() == Shape{3 * m});
    CHECK(layer->weights()[1].name() == layer->name() + "/bias");
  }
}

TEST_CASE("DepthwiseConv2D forward on a hand-computed case, both data formats", "[layers][depthwise]") {
  // Channel 0 holds 1..9, channel 1 holds 10 * (1..9); 2x2 kernel, multiplier 1: channel 0 sums its window,
  // channel 1 takes the window's bottom-right value; bias (-10, 1), then relu.
  std::vector<double> values(18);
  for (int p = 0; p < 9; ++p) {
    values[p * 2] = p + 1;
    values[p * 2 + 1] = 10 * (p + 1);
  }
  Tensor x = Tensor::from_vector(values, {1, 3, 3, 2});
  const Tensor kernel = Tensor::from_vector({1, 0, 1, 0, 1, 0, 1, 1}, {2, 2, 2, 1});
  const Tensor bias = Tensor::from_vector({-15, 1}, {2});
  // Window sums 12, 16, 24, 28 minus 15 -> relu: 0, 1, 9, 13; bottom-right 50, 60, 80, 90 plus 1.
  const std::vector<double> want = {0, 51, 1, 61, 9, 81, 13, 91};

  auto nhwc = layers::DepthwiseConv2D({.kernel_size = 2, .activation = "relu"});
  nhwc->build_from(x.shape());
  nhwc->set_weights({kernel, bias});
  check_values((*nhwc)(x), want);

  auto nchw = layers::DepthwiseConv2D({.kernel_size = 2, .data_format = "channels_first", .activation = "relu"});
  const Tensor x_nchw = keel::ops::contiguous(keel::ops::permute(x, {0, 3, 1, 2}));
  nchw->build_from(x_nchw.shape());
  nchw->set_weights({kernel, bias});
  check_values(keel::ops::permute((*nchw)(x_nchw), {0, 2, 3, 1}), want);
}

TEST_CASE("DepthwiseConv2D gradients in float64 through the layer", "[layers][depthwise]") {
  Float64Scope f64;
  auto strided = layers::DepthwiseConv2D(
      {.kernel_size = 3, .strides = 2, .padding = "same", .depth_multiplier = 2, .activation = "tanh"});
  check_layer_gradients(*strided, uniform({2, 5, 5, 2}, 4));
  auto dilated = layers::DepthwiseConv2D({.kernel_size = 2, .data_format = "channels_first", .dilation_rate = 2});
  check_layer_gradients(*dilated, uniform({1, 3, 5, 4}, 5));
}

TEST_CASE("DepthwiseConv2D config round trip and registry entry", "[layers][depthwise]") {
  auto layer = layers::DepthwiseConv2D({.kernel_size = {3, 2},
                                        .padding = "same",
                                        .depth_multiplier = 2,
                                        .data_format = "channels_first",
                                        .dilation_rate = {2, 1},
                                        .activation = "relu6",
                                        .use_bias = false,
                                        .depthwise_initializer = "he_normal",
                                        .depthwise_regularizer = "l2",
                                        .depthwise_constraint = keel::constraints::NonNeg{}});
  auto rebuilt = check_round_trip(layer, uniform({1, 2, 6, 5}, 6, keel::DType::float32));
  auto c = rebuilt->get_config();
  CHECK(c["depth_multiplier"] == 2);
  CHECK(c["kernel_size"] == nlohmann::json::array({3, 2}));
  CHECK(c["dilation_rate"] == nlohmann::json::array({2, 1}));
  CHECK(c["use_bias"] == false);
  CHECK(c.contains("depthwise_initializer"));
  CHECK_FALSE(c.contains("kernel_initializer"));
  CHECK(rebuilt->weights().size() == 1);
  // A Keras config without the optional keys gets Keras's defaults.
  auto minimal = layers::deserialize({{"class_name", "DepthwiseConv2D"}, {"config", {{"kernel_size", 3}}}});
  CHECK(minimal->get_config()["depth_multiplier"] == 1);
  CHECK(minimal->get_config()["padding"] == "valid");
}

TEST_CASE("DepthwiseConv2D rejects bad arguments naming the layer, argument and value", "[layers][depthwise]") {
  REQUIRE_THROWS_WITH(layers::DepthwiseConv2D({}, "dw"), Contains("dw") && Contains("kernel_size"));
  REQUIRE_THROWS_WITH(layers::DepthwiseConv2D({.kernel_size = 3, .depth_multiplier = 0}, "dw"),
                      Contains("DepthwiseConv2D 'dw'") && Contains("depth_multiplier") && Contains("0"));
  REQUIRE_THROWS_WITH(layers::DepthwiseConv2D({.kernel_size = 3, .padding = "full"}, "dw"),
                      Contains("dw") && Contains("'full'"));
  REQUIRE_THROWS_WITH(layers::DepthwiseConv2D({.kernel_size = 3, .data_format = "nhwc"}), Contains("'nhwc'"));
  REQUIRE_THROWS_WITH(layers::DepthwiseConv2D({.kernel_size = 3, .strides = 2, .dilation_rate = 2}, "dw"),
                      Contains("dw") && Contains("strides") && Contains("dilation_rate"));
  REQUIRE_THROWS_AS(layers::deserialize({{"class_name", "DepthwiseConv2D"},
                                         {"config", {{"kernel_size", 3}, {"filters", 4}}}}),
                    keel::ValueError);
  auto layer = layers::DepthwiseConv2D({.kernel_size = 3}, "dw");
  REQUIRE_THROWS_WITH((*layer)(Tensor::ones({1, 4, 4})), Contains("dw") && Contains("rank"));
  REQUIRE_THROWS_AS((*layer)(Tensor::ones({1, 2, 2, 1})), keel::ShapeError);
  CHECK(layer->weights().empty());  // the failed first call built nothing
  (*layer)(Tensor::ones({1, 4, 4, 2}));
  REQUIRE_THROWS_WITH((*layer)(Tensor::ones({1, 2, 2, 2})), Contains("DepthwiseConv2D 'dw'") && Contains("height 2") && Contains("'valid'"));
  REQUIRE_THROWS_AS((*layer)(Tensor::ones({1, 4, 4, 3})), keel::ShapeError);  // built for 2 channels
}

TEST_CASE("a MobileNet-style block trains through fit in float32 and float64", "[layers][depthwise][fit]") {
  // DepthwiseConv2D -> BN -> ReLU6 -> Conv2D 1x1 -> BN -> ReLU6, then a classifier (BN's moving statistics
  // with momentum 0.9, so that evaluate's inference mode has caught up after this short run). Class 1 images carry a
  // bright 3x3 blob on channel 1, class 0 on channel 2, over uniform noise on all four channels.
  for (const char* floatx : {"float32", "float64"}) {
    INFO(floatx);
    const std::string previous = keel::config::floatx();
    keel::config::set_floatx(floatx);
    keel::set_random_seed(7);
    const std::int64_t n = 128;
    std::vector<double> images(static_cast<std::size_t>(n * 8 * 8 * 4)), labels(static_cast<std::size_t>(n));
    const std::vector<double> noise = keel::random::uniform({n * 8 * 8 * 4}, 0, 0.5, 11, DType::float64).to_vector();
    for (std::int64_t i = 0; i < n; ++i) {
      labels[i] = static_cast<double>(i % 2);
      const std::int64_t channel = i % 2 == 1 ? 1 : 2, top = i % 5, left = (i / 5) % 5;
      for (std::int64_t p = 0; p < 64 * 4; ++p) images[i * 256 + p] = noise[i * 256 + p];
      for (std::int64_t r = top; r < top + 3; ++r)
        for (std::int64_t c = left; c < left + 3; ++c) images[((i * 8 + r) * 8 + c) * 4 + channel] += 2;
    }
    const keel::DType dtype = keel::dtype_from_name(floatx);
    const Tensor x = Tensor::from_vector(images, {n, 8, 8, 4}, dtype);
    const Tensor y = Tensor::from_vector(labels, {n}, DType::int64);
    keel::Sequential model({layers::Input({.shape = {8, 8, 4}}),
                            layers::DepthwiseConv2D({.kernel_size = 3, .padding = "same", .use_bias = false}),
                            layers::BatchNormalization({.momentum = 0.9}),
                            layers::Activation({.activation = "relu6"}),
                            layers::Conv2D({.filters = 8, .kernel_size = 1, .use_bias = false}),
                            layers::BatchNormalization({.momentum = 0.9}),
                            layers::Activation({.activation = "relu6"}),
                            layers::GlobalAveragePooling2D({}),
                            layers::Dense({.units = 2})});
    model.compile({.optimizer = std::make_shared<keel::optim::Adam>(keel::optim::AdamOptions{.learning_rate = 0.01}),
                   .loss = std::make_shared<keel::losses::SparseCategoricalCrossentropy>(
                       keel::losses::SparseCategoricalCrossentropy::Options{.from_logits = true}),
                   .metrics = {"accuracy"}});
    keel::History h = model.fit(x, y, {.batch_size = 16, .epochs = 15, .verbose = 0, .seed = 3});
    CHECK(h.history.at("loss").back() < 0.5 * h.history.at("loss").front());
    CHECK(model.evaluate(x, y)[1] >= 0.95);
    keel::config::set_floatx(previous);
  }
}

TEST_CASE("DepthwiseConv2D with a dilation far beyond the image reads only the taps that reach it",
          "[layers][depthwise]") {
  // 3x3 taps a million apart under "same": only the centre tap ever meets the 4x4 image, so y = x * k[1, 1] + b
  // (and the padded copy stays image-sized instead of a million rows).
  auto layer = layers::DepthwiseConv2D({.kernel_size = 3, .padding = "same", .dilation_rate = 1000000});
  const Tensor x = Tensor::arange(0, 32).reshape({1, 4, 4, 2});
  layer->build_from(x.shape());
  std::vector<double> kernel(18, 100.0);
  kernel[8] = 2;   // centre, channel 0
  kernel[9] = -1;  // centre, channel 1
  layer->set_weights({Tensor::from_vector(kernel, {3, 3, 2, 1}), Tensor::from_vector({0.5, 0}, {2})});
  std::vector<double> want(32);
  for (int p = 0; p < 16; ++p) {
    want[p * 2] = 2.0 * (p * 2) + 0.5;
    want[p * 2 + 1] = -(p * 2 + 1.0);
  }
  check_values((*layer)(x), want);
  Float64Scope f64;
  auto small = layers::DepthwiseConv2D({.kernel_size = 3, .padding = "same", .depth_multiplier = 2, .dilation_rate = {4, 1}});
  check_layer_gradients(*small, uniform({1, 3, 4, 2}, 8));
}
