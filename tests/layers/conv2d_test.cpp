#include <catch2/catch.hpp>

#include "keel/core/error.h"
#include "keel/autograd/engine.h"
#include "keel/autograd/ops.h"
#include "keel/layers/conv2d.h"
#include "keel/layers/pooling2d.h"
#include "layer_test_support.h"

using Catch::Matchers::Contains;
using keel::DType;
using keel::Shape;
using keel::Tensor;
namespace layers = keel::layers;
using namespace layer_test;

TEST_CASE("Conv2D output shapes and kernel layout in both data formats", "[layers][conv2d]") {
  struct Case {
    layers::Conv2DLayer::Options options;
    Shape input, output;
  };
  std::vector<Case> cases = {
      {{.filters = 4, .kernel_size = 3}, {2, 8, 8, 3}, {2, 6, 6, 4}},
      {{.filters = 4, .kernel_size = 3, .padding = "same"}, {2, 8, 8, 3}, {2, 8, 8, 4}},
      {{.filters = 4, .kernel_size = 3, .strides = 2, .padding = "same"}, {2, 7, 8, 3}, {2, 4, 4, 4}},
      {{.filters = 4, .kernel_size = {3, 1}, .strides = {2, 1}}, {2, 8, 8, 3}, {2, 3, 8, 4}},
      {{.filters = 4, .kernel_size = 3, .dilation_rate = 2}, {2, 8, 8, 3}, {2, 4, 4, 4}},
      {{.filters = 5, .kernel_size = 3, .data_format = "channels_first"}, {2, 3, 8, 6}, {2, 5, 6, 4}},
  };
  for (const Case& c : cases) {
    auto conv = layers::Conv2D(c.options);
    CHECK(conv->compute_output_shape(c.input) == c.output);
    CHECK((*conv)(Tensor::ones(c.input)).shape() == c.output);
    const Shape kernel{c.options.kernel_size.h, c.options.kernel_size.w, 3, c.options.filters};
    CHECK(conv->weights()[0].shape() == kernel);
    CHECK(conv->weights()[0].name() == conv->name() + "/kernel");
    CHECK(conv->weights()[1].shape() == Shape{c.options.filters});
  }
}

TEST_CASE("Conv2D forward on a hand-computed case", "[layers][conv2d]") {
  auto conv = layers::Conv2D({.filters = 1, .kernel_size = 2, .activation = "relu"});
  Tensor x = Tensor::from_vector({1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 3, 3, 1});
  (*conv)(x);
  conv->set_weights({Tensor::from_vector({1, 2, 3, 4}, {2, 2, 1, 1}), Tensor::from_vector({-40}, {1})});
  // Windows · [[1, 2], [3, 4]]: 37, 47, 67, 77; minus 40, then relu.
  check_values((*conv)(x), {0, 7, 27, 37});
}

TEST_CASE("Conv2D fuses only keel's own relu: a function of another kind named relu is applied", "[layers][conv2d]") {
  auto conv = layers::Conv2D(
      {.filters = 1, .kernel_size = 2, .activation = keel::Activation("relu", [](const Tensor& x) { return x * 2.0; })});
  Tensor x = Tensor::from_vector({1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 3, 3, 1});
  (*conv)(x);
  conv->set_weights({Tensor::from_vector({1, 2, 3, 4}, {2, 2, 1, 1}), Tensor::from_vector({-40}, {1})});
  check_values((*conv)(x), {-6, 14, 54, 74});  // 2 · ([37, 47, 67, 77] − 40)
}

TEST_CASE("Conv2D channels_first agrees with channels_last on the same kernel", "[layers][conv2d]") {
  Float64Scope f64;
  for (const char* padding : {"valid", "same"}) {
    layers::Conv2DLayer::Options o{.filters = 3, .kernel_size = {3, 2}, .strides = {2, 1}, .padding = padding};
    auto nhwc = layers::Conv2D(o);
    o.data_format = "channels_first";
    auto nchw = layers::Conv2D(o);
    Tensor x = uniform({2, 7, 6, 4}, 3);
    Tensor y = (*nhwc)(x);
    (*nchw)(keel::ops::permute(x, {0, 3, 1, 2}));
    nchw->set_weights(nhwc->get_weights());
    check_values(keel::ops::permute((*nchw)(keel::ops::permute(x, {0, 3, 1, 2})), {0, 2, 3, 1}), y.to_vector(), 1e-12);
  }
}

TEST_CASE("Conv2D gradients in float64 with strides, same padding and dilation", "[layers][conv2d]") {
  Float64Scope f64;
  auto strided = layers::Conv2D({.filters = 2, .kernel_size = 3, .strides = 2, .padding = "same", .activation = "tanh"});
  check_layer_gradients(*strided, uniform({2, 5, 5, 2}, 4));
  auto dilated = layers::Conv2D({.filters = 2, .kernel_size = 2, .data_format = "channels_first", .dilation_rate = 2});
  check_layer_gradients(*dilated, uniform({1, 2, 5, 4}, 5));
}

TEST_CASE("Conv2D config round trip", "[layers][conv2d]") {
  auto conv = layers::Conv2D({.filters = 3,
                              .kernel_size = {3, 2},
                              .strides = 1,
                              .padding = "same",
                              .data_format = "channels_first",
                              .dilation_rate = {2, 1},
                              .activation = "relu",
                              .use_bias = false,
                              .kernel_regularizer = "l2",
                              .kernel_constraint = keel::constraints::MaxNorm{.max_value = 2, .axis = {0, 1, 2}}});
  auto rebuilt = check_round_trip(conv, uniform({1, 2, 6, 5}, 6, DType::float32));
  auto c = rebuilt->get_config();
  CHECK(c["kernel_size"] == nlohmann::json::array({3, 2}));
  CHECK(c["dilation_rate"] == nlohmann::json::array({2, 1}));
  CHECK(c["padding"] == "same");
  CHECK(c["use_bias"] == false);
  CHECK(rebuilt->weights().size() == 1);
}

TEST_CASE("Conv2D rejects bad arguments", "[layers][conv2d]") {
  REQUIRE_THROWS_WITH(layers::Conv2D({.filters = 0, .kernel_size = 3}), Contains("filters") && Contains("0"));
  REQUIRE_THROWS_WITH(layers::Conv2D({.filters = 2}), Contains("kernel_size"));
  REQUIRE_THROWS_WITH(layers::Conv2D({.filters = 2, .kernel_size = 3, .strides = {1, -1}}), Contains("strides"));
  REQUIRE_THROWS_AS(layers::Conv2D({.filters = 2, .kernel_size = 3, .padding = "full"}), keel::ValueError);
  REQUIRE_THROWS_WITH(layers::Conv2D({.filters = 2, .kernel_size = 3, .padding = "full"}, "c_pad"),
                      Contains("c_pad") && Contains("'full'"));
  REQUIRE_THROWS_WITH(layers::Conv2D({.filters = 2, .kernel_size = 3, .data_format = "nhwc"}), Contains("'nhwc'"));
  REQUIRE_THROWS_WITH(layers::Conv2D({.filters = 2, .kernel_size = 3, .strides = 2, .dilation_rate = 2}),
                      Contains("strides") && Contains("dilation_rate"));
  auto conv = layers::Conv2D({.filters = 2, .kernel_size = 3});
  REQUIRE_THROWS_AS((*conv)(Tensor::ones({1, 4, 4})), keel::ShapeError);
  REQUIRE_THROWS_AS((*conv)(Tensor::ones({1, 2, 2, 1})), keel::ShapeError);
  CHECK(conv->weights().empty());  // the failed first call built nothing
}

TEST_CASE("Conv2D and pooling accept a batch without samples: empty output, zero weight gradients",
          "[layers][conv2d]") {
  // A data-parallel replica whose share of the global batch is empty still runs forward and backward.
  auto conv = layers::Conv2D({.filters = 3, .kernel_size = 3, .padding = "same"});
  conv->build_from({1, 5, 5, 2});
  for (const layers::LayerPtr& pool : std::vector<layers::LayerPtr>{layers::MaxPooling2D({.pool_size = 2}),
                                                                    layers::AveragePooling2D({.pool_size = 2})}) {
    Tensor x = keel::set_requires_grad(Tensor::zeros({0, 5, 5, 2}));
    Tensor y = (*pool)((*conv)(x, true), true);
    CHECK(y.shape() == keel::Shape{0, 2, 2, 3});
    keel::backward(keel::ops::sum(y));
    CHECK(keel::grad(x).shape() == keel::Shape{0, 5, 5, 2});
    std::vector<double> gk = conv->weights()[0].grad().to_vector();
    CHECK(gk == std::vector<double>(gk.size(), 0.0));
    conv->weights()[0].zero_grad();
  }
  REQUIRE_THROWS_AS((*conv)(Tensor::zeros({0, 2, 2, 3}), true), keel::ShapeError);  // shapes are still checked
}
