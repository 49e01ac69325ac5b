// Activation, Rescaling, ZeroPadding2D and Input layers.
#include <catch2/catch.hpp>

#include <cmath>

#include "keel/core/error.h"
#include "keel/layers/activation_layer.h"
#include "keel/layers/input.h"
#include "keel/layers/rescaling.h"
#include "keel/layers/zero_padding2d.h"
#include "layer_test_support.h"

using Catch::Matchers::Contains;
using keel::Shape;
using keel::Tensor;
namespace layers = keel::layers;
using namespace layer_test;

TEST_CASE("Activation layer applies every activation by name", "[layers][activation_layer]") {
  Tensor x = Tensor::from_vector({-2, -0.5, 0, 1.5, 8}, {1, 5}, keel::DType::float64);
  for (const char* name : {"relu", "relu6", "leaky_relu", "elu", "selu", "gelu", "sigmoid", "hard_sigmoid", "tanh",
                           "softmax", "log_softmax", "softplus", "softsign", "swish", "silu", "linear"}) {
    INFO(name);
    auto layer = layers::Activation({.activation = name});
    layer->set_dtype(keel::DType::float64);
    CHECK((*layer)(x).to_vector() == keel::Activation(name)(x).to_vector());
  }
  // relu6 and hard_sigmoid by hand.
  check_values((*layers::Activation({.activation = "relu6"}))(x.to(keel::DType::float32)), {0, 0, 0, 1.5, 6});
  check_values((*layers::Activation({.activation = "hard_sigmoid"}))(x.to(keel::DType::float32)),
               {1.0 / 6, 2.5 / 6, 0.5, 4.5 / 6, 1}, 1e-6);
  {
    Float64Scope f64;
    check_layer_gradients(*layers::Activation({.activation = "gelu"}), uniform({3, 4}, 23));
  }
  auto rebuilt = check_round_trip(layers::Activation({.activation = "softsign"}), x.to(keel::DType::float32));
  CHECK(rebuilt->get_config()["activation"] == "softsign");
  REQUIRE_THROWS_WITH(layers::Activation({.activation = "sigmoidd"}), Contains("'sigmoidd'"));
}

TEST_CASE("Rescaling computes x times scale plus offset", "[layers][rescaling]") {
  auto r = layers::Rescaling({.scale = 1.0 / 127.5, .offset = -1});
  check_values((*r)(Tensor::from_vector({0, 127.5, 255}, {1, 3}, keel::DType::float64)), {-1, 0, 1}, 1e-6);
  {
    Float64Scope f64;
    check_layer_gradients(*layers::Rescaling({.scale = -3, .offset = 2}), uniform({2, 3}, 24));
  }
  check_round_trip(r, uniform({2, 3}, 25, keel::DType::float32));
  REQUIRE_THROWS_WITH(layers::Rescaling({.scale = std::nan("")}), Contains("scale"));
}

TEST_CASE("ZeroPadding2D pads height and width with zeros", "[layers][zero_padding]") {
  Tensor x = Tensor::from_vector({1, 2, 3, 4}, {1, 2, 2, 1});
  auto pad = layers::ZeroPadding2D({.padding = {{1, 0}, {0, 2}}});
  CHECK(pad->compute_output_shape({1, 2, 2, 1}) == Shape{1, 3, 4, 1});
  check_values((*pad)(x), {0, 0, 0, 0, 1, 2, 0, 0, 3, 4, 0, 0});
  CHECK(layers::ZeroPadding2D()->compute_output_shape({2, 3, 4, 5}) == Shape{2, 5, 6, 5});
  CHECK(layers::ZeroPadding2D({.padding = {1, 2}})->compute_output_shape({2, 3, 4, 5}) == Shape{2, 5, 8, 5});
  auto first = layers::ZeroPadding2D({.padding = {{1, 0}, {0, 2}}, .data_format = "channels_first"});
  check_values((*first)(x.reshape({1, 1, 2, 2})), {0, 0, 0, 0, 1, 2, 0, 0, 3, 4, 0, 0});
  {
    Float64Scope f64;
    check_layer_gradients(*layers::ZeroPadding2D({.padding = {2, 1}}), uniform({1, 2, 2, 2}, 26));
  }
  auto rebuilt = check_round_trip(pad, uniform({2, 2, 3, 1}, 27, keel::DType::float32));
  CHECK(rebuilt->get_config()["padding"] == nlohmann::json::array({{1, 0}, {0, 2}}));
  REQUIRE_THROWS_WITH(layers::ZeroPadding2D({.padding = -1}, "pad_neg"), Contains("pad_neg") && Contains("padding"));
  REQUIRE_THROWS_AS(layers::ZeroPadding2D({.data_format = "NCHW"}), keel::ValueError);
}

TEST_CASE("Input declares the per-sample shape and checks it", "[layers][input]") {
  auto input = layers::Input({.shape = {28, -1, 1}}, "pixels");
  CHECK(input->input_shape() == Shape{28, -1, 1});
  Tensor x = Tensor::ones({2, 28, 5, 1});
  CHECK((*input)(x).to_vector() == x.to_vector());
  CHECK((*input)(Tensor::ones({3, 28, 7, 1})).shape() == Shape{3, 28, 7, 1});
  REQUIRE_THROWS_WITH((*input)(Tensor::ones({2, 27, 5, 1})), Contains("pixels") && Contains("[2, 27, 5, 1]"));
  REQUIRE_THROWS_AS((*input)(Tensor::ones({28, 5, 1})), keel::ShapeError);
  REQUIRE_THROWS_AS(layers::Input({.shape = {0, 3}}), keel::ValueError);
  auto rebuilt = check_round_trip(input, x);
  CHECK(std::dynamic_pointer_cast<layers::InputLayer>(rebuilt)->input_shape() == Shape{28, -1, 1});
}

TEST_CASE("Input keeps an integer input dtype apart from its float dtype, in its config too", "[layers][input]") {
  using keel::DType;
  auto tokens = layers::Input({.shape = {8}, .dtype = DType::int64}, "tokens");
  CHECK(tokens->input_dtype() == DType::int64);
  CHECK(keel::is_floating(tokens->dtype()));
  CHECK(tokens->get_config()["dtype"] == "int64");
  auto rebuilt = std::dynamic_pointer_cast<layers::InputLayer>(layers::InputLayer::from_config(tokens->get_config()));
  REQUIRE(rebuilt);
  CHECK(rebuilt->input_dtype() == DType::int64);
  CHECK(rebuilt->get_config() == tokens->get_config());

  auto wide = layers::Input({.shape = {3}, .dtype = DType::float64});
  CHECK(wide->input_dtype() == DType::float64);
  CHECK(wide->dtype() == DType::float64);
  REQUIRE_THROWS_WITH(layers::Input({.shape = {3}, .dtype = DType::boolean}, "flags"),
                      Contains("InputLayer 'flags'") && Contains("got bool"));
}
