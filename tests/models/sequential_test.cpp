#include <catch2/catch.hpp>

#include "keel/core/error.h"
#include "keel/core/random.h"
#include "keel/layers/batch_normalization.h"
#include "keel/layers/dense.h"
#include "keel/layers/input.h"
#include "keel/models/sequential.h"
#include "keel/optim/sgd.h"
#include "models/model_test_support.h"
#include "support/throws.h"

using Catch::Matchers::Contains;
using namespace keel;

TEST_CASE("Sequential add, pop, layers and get_layer", "[model]") {
  auto a = layers::Dense({.units = 3}, "first");
  auto b = layers::Dense({.units = 2}, "second");
  Sequential model({a}, "stack");
  model.add(b);
  REQUIRE(model.layers().size() == 2);
  CHECK(model.layers()[0] == a);
  CHECK(model.get_layer("second") == b);
  KEEL_CHECK_THROWS(model.get_layer("third"), ValueError, Contains("third") && Contains("first, second"));
  model.pop();
  CHECK(model.layers().size() == 1);
  model.pop();
  KEEL_CHECK_THROWS(model.pop(), UsageError, Contains("empty"));
}

TEST_CASE("Sequential refuses duplicate layer names and null layers", "[model]") {
  Sequential model({layers::Dense({.units = 3}, "same")}, "dups");
  KEEL_CHECK_THROWS(model.add(layers::Dense({.units = 2}, "same")), ValueError, Contains("'same'") && Contains("unique"));
  CHECK(model.layers().size() == 1);
  KEEL_CHECK_THROWS(Sequential({layers::Dense({.units = 1}, "x"), layers::Dense({.units = 1}, "x")}), ValueError,
                    Contains("'x'"));
  CHECK_THROWS_AS(model.add(nullptr), ValueError);
}

TEST_CASE("Sequential builds from an Input, or from its first call", "[model]") {
  auto dense = layers::Dense({.units = 2});
  Sequential declared({layers::Input({.shape = {3}}), dense});
  CHECK_FALSE(dense->built());
  REQUIRE(declared.build_from_declared_input());
  CHECK(dense->weights()[0].shape() == Shape{3, 2});

  auto late = layers::Dense({.units = 4});
  Sequential undeclared({late});
  CHECK_FALSE(undeclared.build_from_declared_input());
  Tensor y = undeclared.predict(Tensor::ones({5, 7}));
  CHECK(y.shape() == Shape{5, 4});
  CHECK(late->weights()[0].shape() == Shape{7, 4});
  // Built: layers can no longer be added or removed.
  CHECK_THROWS_AS(undeclared.add(layers::Dense({.units = 1})), UsageError);
  CHECK_THROWS_AS(undeclared.pop(), UsageError);
}

TEST_CASE("a trained Sequential nested in another and frozen keeps its weights and BN statistics", "[model]") {
  set_random_seed(11);
  auto [x, y] = test::two_gaussians(64, 1.5, 5);
  auto inner_dense = layers::Dense({.units = 4, .activation = "relu"});
  auto inner_bn = layers::BatchNormalization({.momentum = 0.5});
  auto base = std::make_shared<Sequential>(std::vector<layers::LayerPtr>{layers::Input({.shape = {2}}), inner_dense, inner_bn});
  base->compile({.optimizer = std::make_shared<optim::SGD>(optim::SGDOptions{.learning_rate = 0.05}), .loss = "mse"});
  base->fit(x, Tensor::zeros({64, 4}), {.batch_size = 16, .epochs = 2, .verbose = 0});

  auto head = layers::Dense({.units = 1, .activation = "sigmoid"});
  Sequential outer({base, head});
  base->set_trainable(false);
  CHECK(base->trainable_weights().empty());
  CHECK(inner_bn->trainable_weights().empty());
  CHECK(base->non_trainable_weights().size() == 6);
  outer.compile({.optimizer = std::make_shared<optim::SGD>(optim::SGDOptions{.learning_rate = 0.1}),
                 .loss = "binary_crossentropy"});
  auto before_base = test::weight_bytes(*base);
  auto before_head = test::weight_bytes(*head);
  outer.fit(x, y, {.batch_size = 16, .epochs = 2, .verbose = 0});
  REQUIRE(outer.trainable_weights().size() == 2);
  CHECK(outer.trainable_weights()[0].same_as(head->weights()[0]));
  // Frozen BN runs in inference mode: its moving statistics stay bitwise as they were.
  CHECK(test::weight_bytes(*base) == before_base);
  CHECK(test::weight_bytes(*head) != before_head);
  // The frozen part computes as in inference mode even inside a training call.
  Tensor inference = (*base)(x, false);
  Tensor training = (*base)(x, true);
  CHECK(test::tensor_bytes(inference) == test::tensor_bytes(training));
  CHECK(test::weight_bytes(*base) == before_base);
}
