#include <catch2/catch.hpp>

#include <cmath>

#include "keel/core/error.h"
#include "keel/layers/dense.h"
#include "layer_test_support.h"

using Catch::Matchers::Contains;
using keel::DType;
using keel::Shape;
using keel::Tensor;
namespace layers = keel::layers;
using namespace layer_test;

TEST_CASE("Dense builds kernel then bias with Keras shapes and defaults", "[layers][dense]") {
  auto dense = layers::Dense({.units = 3});
  Tensor y = (*dense)(Tensor::ones({2, 4}));
  CHECK(y.shape() == Shape{2, 3});
  REQUIRE(dense->weights().size() == 2);
  CHECK(dense->weights()[0].name() == dense->name() + "/kernel");
  CHECK(dense->weights()[0].shape() == Shape{4, 3});
  CHECK(dense->weights()[1].name() == dense->name() + "/bias");
  CHECK(dense->bias().value().to_vector() == std::vector<double>(3, 0.0));
  CHECK(dense->count_params() == 15);
  const double limit = std::sqrt(6.0 / 7);  // glorot_uniform over fan_in 4 + fan_out 3
  for (double k : dense->kernel().value().to_vector()) CHECK(std::abs(k) <= limit);
  CHECK(dense->compute_output_shape({5, 7, 4}) == Shape{5, 7, 3});
  auto no_bias = layers::Dense({.units = 2, .use_bias = false});
  (*no_bias)(Tensor::ones({1, 4}));
  CHECK(no_bias->weights().size() == 1);
  std::shared_ptr<layers::Layer> base = dense;
  CHECK(std::dynamic_pointer_cast<layers::DenseLayer>(base) != nullptr);
}

TEST_CASE("Dense forward on a hand-computed case with relu", "[layers][dense]") {
  auto dense = layers::Dense({.units = 3, .activation = "relu"});
  (*dense)(Tensor::zeros({1, 2}));
  dense->set_weights({Tensor::from_vector({1, -1, 0, 2, 0.5, -3}, {2, 3}), Tensor::from_vector({0.5, 0, 1}, {3})});
  // [1, 2]·kernel + bias = [1 + 4 + 0.5, -1 + 1 + 0, 0 - 6 + 1] = [5.5, 0, -5]
  check_values((*dense)(Tensor::from_vector({1, 2}, {1, 2})), {5.5, 0, 0});
}

TEST_CASE("Dense fuses only keel's own relu: a function of another kind named relu is applied", "[layers][dense]") {
  auto dense = layers::Dense({.units = 3, .activation = keel::Activation("relu", [](const Tensor& x) { return x * 2.0; })});
  (*dense)(Tensor::zeros({1, 2}));
  dense->set_weights({Tensor::from_vector({1, -1, 0, 2, 0.5, -3}, {2, 3}), Tensor::from_vector({0.5, 0, 1}, {3})});
  check_values((*dense)(Tensor::from_vector({1, 2}, {1, 2})), {11, 0, -10});  // 2 · [5.5, 0, -5]
}

TEST_CASE("Dense applies to the last axis of a rank-3 input", "[layers][dense]") {
  auto dense = layers::Dense({.units = 2, .kernel_initializer = "ones", .bias_initializer = keel::initializers::Constant{.value = 1}});
  Tensor x = Tensor::from_vector({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, {2, 3, 2});
  Tensor y = (*dense)(x);
  CHECK(y.shape() == Shape{2, 3, 2});
  // Every output is the row sum plus 1.
  check_values(y, {4, 4, 8, 8, 12, 12, 16, 16, 20, 20, 24, 24});
}

TEST_CASE("Dense gradients in float64 through input, kernel and bias", "[layers][dense]") {
  Float64Scope f64;
  auto dense = layers::Dense({.units = 3, .activation = "tanh"});
  check_layer_gradients(*dense, uniform({2, 2, 4}, 1));
}

TEST_CASE("Dense config round trip keeps every argument", "[layers][dense]") {
  auto dense = layers::Dense({.units = 4,
                              .activation = "gelu",
                              .use_bias = true,
                              .kernel_initializer = keel::initializers::HeNormal{.seed = 5},
                              .bias_initializer = "ones",
                              .kernel_regularizer = keel::regularizers::L2{.l2 = 0.3},
                              .bias_regularizer = "l1",
                              .activity_regularizer = keel::regularizers::L1{.l1 = 0.2},
                              .kernel_constraint = keel::constraints::MaxNorm{.max_value = 1.5},
                              .bias_constraint = "non_neg"},
                             "dense_roundtrip");
  auto rebuilt = check_round_trip(dense, uniform({3, 5}, 2, DType::float32));
  auto c = rebuilt->get_config();
  CHECK(c["name"] == "dense_roundtrip");
  CHECK(c["units"] == 4);
  CHECK(c["activation"] == "gelu");
  CHECK(c["kernel_initializer"]["class_name"] == "HeNormal");
  CHECK(c["kernel_regularizer"]["config"]["l2"] == 0.3);
  CHECK(c["kernel_constraint"]["class_name"] == "MaxNorm");
}

TEST_CASE("Dense weight and activity regularizers appear in losses", "[layers][dense]") {
  auto dense = layers::Dense({.units = 2,
                              .kernel_initializer = "ones",
                              .bias_initializer = "ones",
                              .kernel_regularizer = keel::regularizers::L2{.l2 = 0.5},
                              .activity_regularizer = keel::regularizers::L1{.l1 = 0.1}});
  (*dense)(Tensor::from_vector({1, 2, -3, -4}, {2, 2}), true);  // outputs [4, 4], [-6, -6]
  auto losses = dense->losses();
  REQUIRE(losses.size() == 2);
  CHECK(losses[0].item() == Approx(0.5 * 4));
  CHECK(losses[1].item() == Approx(0.1 * 20 / 2));  // activity L1 over the batch of 2
}

TEST_CASE("Dense rejects bad arguments and inputs", "[layers][dense]") {
  REQUIRE_THROWS_AS(layers::Dense({.units = 0}), keel::ValueError);
  REQUIRE_THROWS_WITH(layers::Dense({.units = -2}, "d_bad"), Contains("d_bad") && Contains("units") && Contains("-2"));
  REQUIRE_THROWS_WITH(layers::Dense({.units = 2, .activation = "rleu"}), Contains("rleu"));
  auto dense = layers::Dense({.units = 2}, "d_rank");
  REQUIRE_THROWS_AS((*dense)(Tensor::ones({3})), keel::ShapeError);
  (*dense)(Tensor::ones({1, 3}));
  REQUIRE_THROWS_WITH((*dense)(Tensor::ones({1, 4})), Contains("d_rank") && Contains("[1, 4]"));
}
