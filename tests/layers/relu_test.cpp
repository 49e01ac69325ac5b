#include <catch2/catch.hpp>

#include <limits>
#include <optional>

#include "keel/core/error.h"
#include "keel/layers/batch_normalization.h"
#include "keel/layers/conv2d.h"
#include "keel/layers/dense.h"
#include "keel/layers/global_pooling2d.h"
#include "keel/layers/input.h"
#include "keel/layers/relu.h"
#include "keel/models/sequential.h"
#include "layer_test_support.h"

using Catch::Matchers::Contains;
using keel::Tensor;
namespace layers = keel::layers;
using namespace layer_test;

namespace {
Tensor row(const std::vector<double>& v) { return Tensor::from_vector(v, {1, static_cast<std::int64_t>(v.size())}); }
}  // namespace

TEST_CASE("ReLU with default arguments is max(x, 0)", "[layers][relu]") {
  check_values((*layers::ReLU())(row({-3, -1, 0, 2})), {0, 0, 0, 2});
}

TEST_CASE("ReLU follows Keras 3's formula for max_value, negative_slope and threshold", "[layers][relu]") {
  // MobileNetV2's ReLU(6.).
  check_values((*layers::ReLU({.max_value = 6}))(row({-3, 0, 5.5, 6, 7.5})), {0, 0, 5.5, 6, 6});
  check_values((*layers::ReLU({.max_value = 1}))(row({-3, -1, 0, 2})), {0, 0, 0, 1});
  // Keras's documented examples.
  check_values((*layers::ReLU({.max_value = 10, .negative_slope = 0.5}))(row({-10, -5, 0, 5, 10})),
               {-5, -2.5, 0, 5, 10});
  check_values((*layers::ReLU({.negative_slope = 1}))(row({-3, -1, 0, 2})), {-3, -1, 0, 2});
  check_values((*layers::ReLU({.threshold = 1.5}))(row({-3, -1, 1, 2})), {0, 0, 0, 2});
  check_values((*layers::ReLU({.threshold = 5}))(row({-10, -5, 0, 5, 10})), {0, 0, 0, 0, 10});
  // All three: x > t gives min(x, m); x <= t gives a·(x − t).
  check_values((*layers::ReLU({.max_value = 1.8, .negative_slope = 0.5, .threshold = 1.5}))(row({-3, 1, 1.5, 1.7, 2, 4})),
               {-2.25, -0.25, 0, 1.7, 1.8, 1.8}, 1e-6);
}

TEST_CASE("ReLU's gradient matches finite differences", "[layers][relu]") {
  Float64Scope f64;
  check_layer_gradients(*layers::ReLU({.max_value = 0.7, .negative_slope = 0.2, .threshold = 0.3}), uniform({4, 5}, 31));
  check_layer_gradients(*layers::ReLU({.max_value = 6}), uniform({3, 4}, 32) * 8.0);
  check_layer_gradients(*layers::ReLU({.negative_slope = 0.1}), uniform({3, 4}, 33));
}

TEST_CASE("ReLU config round trip and bad arguments", "[layers][relu]") {
  auto relu = layers::ReLU({.max_value = 6, .negative_slope = 0.1, .threshold = 0.5}, "relu_rt");
  auto rebuilt = check_round_trip(relu, uniform({2, 3}, 34, keel::DType::float32));
  CHECK(rebuilt->get_config()["max_value"] == 6.0);
  CHECK(layers::ReLU()->get_config()["max_value"].is_null());
  CHECK(layers::ReLULayer::from_config({{"max_value", 6}})->options().max_value == 6.0);  // Keras configs may hold ints
  CHECK(rebuilt->compute_output_shape({2, 3}) == keel::Shape{2, 3});
  REQUIRE_THROWS_WITH(layers::ReLU({.max_value = -1}, "relu_neg"), Contains("relu_neg") && Contains("max_value") && Contains("-1"));
  REQUIRE_THROWS_WITH(layers::ReLU({.negative_slope = -0.5}), Contains("negative_slope") && Contains("-0.5"));
  REQUIRE_THROWS_WITH(layers::ReLU({.threshold = -2}), Contains("threshold") && Contains("-2"));
  REQUIRE_THROWS_AS(layers::ReLU({.threshold = std::numeric_limits<double>::quiet_NaN()}), keel::ValueError);
  REQUIRE_THROWS_WITH(layers::ReLULayer::from_config({{"max_value", "6"}}), Contains("ReLU") && Contains("max_value"));
}

TEST_CASE("A MobileNet-style block with ReLU(6.) trains through fit in float32 and float64", "[layers][relu]") {
  for (keel::DType dtype : {keel::DType::float32, keel::DType::float64}) {
    INFO(keel::dtype_name(dtype));
    std::optional<Float64Scope> f64;  // layers take the floatx of their construction
    if (dtype == keel::DType::float64) f64.emplace();
    keel::set_random_seed(5);
    // Images 8×8×3 whose label is whether the first channel's mean exceeds the second's.
    Tensor x = keel::random::uniform({64, 8, 8, 3}, 0, 1, 11);
    std::vector<double> xv = x.to_vector(), labels;
    for (int n = 0; n < 64; ++n) {
      double diff = 0;
      for (int p = 0; p < 64; ++p) diff += xv[std::size_t((n * 64 + p) * 3)] - xv[std::size_t((n * 64 + p) * 3 + 1)];
      labels.push_back(diff > 0 ? 1 : 0);
    }
    keel::Sequential model({layers::Input({.shape = {8, 8, 3}}),
                            layers::Conv2D({.filters = 8, .kernel_size = 3, .padding = "same", .use_bias = false}),
                            layers::BatchNormalization({}), layers::ReLU({.max_value = 6}),
                            layers::Conv2D({.filters = 8, .kernel_size = 1, .use_bias = false}),
                            layers::BatchNormalization({}), layers::ReLU({.max_value = 6}),
                            layers::GlobalAveragePooling2D(), layers::Dense({.units = 1, .activation = "sigmoid"})});
    REQUIRE(model.dtype() == dtype);
    model.compile({.optimizer = "adam", .loss = "binary_crossentropy"});
    keel::History h = model.fit(x, Tensor::from_vector(labels, {64, 1}), {.batch_size = 16, .epochs = 8, .verbose = 0, .seed = 2});
    CHECK(h.history.at("loss").back() < h.history.at("loss").front());
  }
}
