#include <catch2/catch.hpp>

#include "keel/autograd/ops.h"
#include "keel/core/error.h"
#include "keel/layers/conv2d_transpose.h"
#include "keel/layers/depthwise_conv2d.h"
#include "layer_test_support.h"

using Catch::Matchers::Contains;
using keel::Shape;
using keel::Tensor;
namespace layers = keel::layers;
namespace ops = keel::ops;
using namespace layer_test;

TEST_CASE("Conv2DTranspose output shapes follow Keras's rule", "[layers][conv2d_transpose]") {
  struct Case {
    layers::Conv2DTransposeLayer::Options options;
    Shape input, output;
  };
  std::vector<Case> cases = {
      {{.filters = 2, .kernel_size = 3}, {1, 4, 5, 3}, {1, 6, 7, 2}},                             // in + k - 1
      {{.filters = 2, .kernel_size = 3, .strides = 2}, {1, 4, 5, 3}, {1, 9, 11, 2}},              // 2 in + 1
      {{.filters = 2, .kernel_size = 2, .strides = 3}, {1, 4, 5, 3}, {1, 12, 15, 2}},             // 3 in + 0
      {{.filters = 2, .kernel_size = 3, .strides = 2, .padding = "same"}, {1, 4, 5, 3}, {1, 8, 10, 2}},
      {{.filters = 2, .kernel_size = 3, .strides = 2, .output_padding = layers::Size2{1, 0}}, {1, 4, 5, 3}, {1, 10, 11, 2}},
      {{.filters = 2, .kernel_size = 3, .strides = 2, .padding = "same", .output_padding = layers::Size2{1, 0}},
       {1, 4, 5, 3}, {1, 8, 9, 2}},  // (in - 1) * 2 + 3 % 2 + output_padding
      {{.filters = 2, .kernel_size = 2, .data_format = "channels_first", .dilation_rate = 2}, {1, 3, 4, 5}, {1, 2, 6, 7}},
  };
  for (const Case& c : cases) {
    auto layer = layers::Conv2DTranspose(c.options);
    CHECK(layer->compute_output_shape(c.input) == c.output);
    CHECK((*layer)(Tensor::ones(c.input)).shape() == c.output);
    const std::int64_t in = c.options.data_format == "channels_first" ? c.input[1] : c.input[3];
    CHECK(layer->weights()[0].name() == layer->name() + "/kernel");
    CHECK(layer->weights()[0].shape() == Shape{c.options.kernel_size.h, c.options.kernel_size.w, 2, in});
    CHECK(layer->weights()[1].shape() == Shape{2});
  }
}

TEST_CASE("Conv2DTranspose spreads each input over a kernel-sized patch", "[layers][conv2d_transpose]") {
  // x = [[1, 2], [3, 4]], kernel [[1, 10], [100, 1000]]: y[i + a, j + b] += x[i, j] * k[a, b].
  const Tensor x = Tensor::from_vector({1, 2, 3, 4}, {1, 2, 2, 1});
  const Tensor kernel = Tensor::from_vector({1, 10, 100, 1000}, {2, 2, 1, 1});
  auto overlapping = layers::Conv2DTranspose({.filters = 1, .kernel_size = 2});
  overlapping->build_from(x.shape());
  overlapping->set_weights({kernel, Tensor::from_vector({0.5}, {1})});
  check_values((*overlapping)(x), {1.5, 12.5, 20.5, 103.5, 1234.5, 2040.5, 300.5, 3400.5, 4000.5});
  // Stride 2: the patches tile the output without overlapping.
  auto tiled = layers::Conv2DTranspose({.filters = 1, .kernel_size = 2, .strides = 2, .use_bias = false});
  tiled->build_from(x.shape());
  tiled->set_weights({kernel});
  check_values((*tiled)(x), {1, 10, 2, 20, 100, 1000, 200, 2000, 3, 30, 4, 40, 300, 3000, 400, 4000});
}

TEST_CASE("conv2d_transpose is the adjoint of conv2d on the same kernel", "[layers][conv2d_transpose]") {
  // <conv2d(u, K), v> = <u, conv2d_transpose(v, K)> for every geometry whose shapes line up.
  struct Case {
    Shape u;  // conv2d's input = conv2d_transpose's output
    ops::Conv2dTransposeOptions t;
  };
  const Shape kernel_shape{3, 2, 2, 3};  // [kh, kw, conv in = transpose filters, conv out = transpose in]
  for (const Case& c : {Case{{2, 6, 5, 2}, {}},
                        Case{{2, 7, 5, 2}, {.stride_h = 2, .stride_w = 2, .output_padding_h = 0, .output_padding_w = 1}},
                        Case{{1, 8, 6, 2}, {.stride_h = 2, .stride_w = 3, .same_padding = true}},
                        Case{{1, 7, 5, 2}, {.stride_h = 2, .stride_w = 2, .output_padding_h = 0, .output_padding_w = 1, .same_padding = true}},
                        Case{{1, 2, 7, 6}, {.dilation_h = 2, .dilation_w = 2, .channels_first = true}}}) {
    const ops::Conv2dOptions conv{.stride_h = c.t.stride_h,
                                  .stride_w = c.t.stride_w,
                                  .dilation_h = c.t.dilation_h,
                                  .dilation_w = c.t.dilation_w,
                                  .same_padding = c.t.same_padding,
                                  .channels_first = c.t.channels_first};
    const Tensor u = uniform(c.u, 1), kernel = uniform(kernel_shape, 2);
    const Tensor y = ops::conv2d(u, kernel, Tensor(), conv);
    const Tensor v = uniform(y.shape(), 3);
    const Tensor back = ops::conv2d_transpose(v, kernel, Tensor(), c.t);
    REQUIRE(back.shape() == u.shape());
    CHECK(ops::sum(y * v).item() == Approx(ops::sum(u * back).item()).epsilon(1e-12));
  }
}

TEST_CASE("Conv2DTranspose gradients in float64", "[layers][conv2d_transpose]") {
  Float64Scope f64;
  auto strided = layers::Conv2DTranspose(
      {.filters = 2, .kernel_size = 3, .strides = 2, .padding = "same", .output_padding = layers::Size2{1, 1}, .activation = "tanh"});
  check_layer_gradients(*strided, uniform({2, 3, 2, 2}, 4));
  auto dilated = layers::Conv2DTranspose({.filters = 2, .kernel_size = 2, .data_format = "channels_first", .dilation_rate = 2});
  check_layer_gradients(*dilated, uniform({1, 3, 3, 2}, 5));
}

TEST_CASE("Conv2DTranspose config round trip and bad arguments", "[layers][conv2d_transpose]") {
  auto layer = layers::Conv2DTranspose({.filters = 3,
                                        .kernel_size = {3, 2},
                                        .strides = 2,
                                        .padding = "same",
                                        .output_padding = layers::Size2{1, 1},
                                        .data_format = "channels_first",
                                        .activation = "relu"});
  auto rebuilt = check_round_trip(layer, uniform({1, 2, 3, 4}, 6, keel::DType::float32));
  CHECK(rebuilt->get_config()["output_padding"] == nlohmann::json::array({1, 1}));
  CHECK(layers::Conv2DTranspose({.filters = 1, .kernel_size = 1})->get_config()["output_padding"].is_null());
  REQUIRE_THROWS_WITH(layers::Conv2DTranspose({.filters = 2, .kernel_size = 3, .strides = 2, .output_padding = layers::Size2{2, 0}}, "up"),
                      Contains("Conv2DTranspose 'up'") && Contains("output_padding (2, 0)") && Contains("strides (2, 2)"));
  REQUIRE_THROWS_WITH(layers::Conv2DTranspose({.filters = 2, .kernel_size = 2, .strides = 2, .padding = "same",
                                               .output_padding = layers::Size2{0, 1}}, "up"),
                      Contains("up") && Contains("even kernel"));
  REQUIRE_THROWS_WITH(layers::Conv2DTranspose({.filters = 0, .kernel_size = 3}, "up"), Contains("up") && Contains("filters"));
  auto up = layers::Conv2DTranspose({.filters = 2, .kernel_size = 3}, "up");
  REQUIRE_THROWS_WITH((*up)(Tensor::ones({1, 3, 3})), Contains("up") && Contains("rank"));
}

TEST_CASE("DepthwiseConv2D and Conv2DTranspose accept a batch without samples", "[layers][conv2d_transpose][depthwise]") {
  // A data-parallel replica whose share of the global batch is empty: empty output, zero weight gradients.
  for (const keel::layers::LayerPtr& layer :
       std::vector<keel::layers::LayerPtr>{layers::Conv2DTranspose({.filters = 3, .kernel_size = 3, .strides = 2}),
                                           layers::DepthwiseConv2D({.kernel_size = 3, .depth_multiplier = 2})}) {
    INFO(layer->class_name());
    layer->build_from({1, 5, 5, 2});
    Tensor x = keel::set_requires_grad(Tensor::zeros({0, 5, 5, 2}));
    Tensor y = (*layer)(x, true);
    CHECK(y.shape() == layer->compute_output_shape({0, 5, 5, 2}));
    keel::backward(ops::sum(y));
    CHECK(keel::grad(x).shape() == Shape{0, 5, 5, 2});
    for (const keel::Variable& w : layer->weights()) {
      const std::vector<double> g = w.grad().to_vector();
      CHECK(g == std::vector<double>(g.size(), 0.0));
    }
  }
}
