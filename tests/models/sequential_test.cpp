#include <catch2/catch.hpp>

#include "keel/core/config.h"
#include "keel/core/error.h"
#include "keel/core/random.h"
#include "keel/layers/batch_normalization.h"
#include "keel/layers/dense.h"
#include "keel/layers/input.h"
#include "keel/layers/registry.h"
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
  CHECK(dense->built());
  REQUIRE(declared.build_from_declared_input());
  CHECK(dense->weights()[0].shape() == Shape{3, 2});

  auto late = layers::Dense({.units = 4});
  Sequential undeclared({late});
  CHECK_FALSE(undeclared.build_from_declared_input());
  Tensor y = undeclared.predict(Tensor::ones({5, 7}));
  CHECK(y.shape() == Shape{5, 4});
  CHECK(late->weights()[0].shape() == Shape{7, 4});
}

TEST_CASE("A Sequential that starts with an Input is built at construction and on add", "[model]") {
  auto dense = layers::Dense({.units = 2});
  Sequential model({layers::Input({.shape = {3}}), dense}, "declared");
  CHECK(model.built());
  REQUIRE(model.weights().size() == 2);
  model.set_weights({Tensor::full({3, 2}, 0.5), Tensor::full({2}, 1.0)});
  CHECK(model.predict(Tensor::ones({1, 3})).to_vector() == std::vector<double>{2.5, 2.5});

  // Keras rebuilds on add(): a layer added to a built model is built from the previous output.
  Sequential grown({layers::Input({.shape = {3}})}, "grown");
  CHECK_FALSE(grown.built());
  grown.add(layers::Dense({.units = 4}));
  CHECK(grown.built());
  auto head = layers::Dense({.units = 1});
  grown.add(head);
  CHECK(head->weights()[0].shape() == Shape{4, 1});
  CHECK(grown.predict(Tensor::ones({5, 3})).shape() == Shape{5, 1});
  // A layer that does not fit the previous output is refused, and the model is left as it was.
  KEEL_CHECK_THROWS(grown.add(layers::Input({.shape = {2}})), ValueError, Contains("Input"));
  auto misfit = layers::BatchNormalization({.axis = {3}});
  CHECK_THROWS_AS(grown.add(misfit), ShapeError);
  CHECK(grown.layers().size() == 2);
  CHECK(grown.predict(Tensor::ones({2, 3})).shape() == Shape{2, 1});
}

TEST_CASE("pop() on a built Sequential makes the new last layer's output the model's", "[model]") {
  Sequential model({layers::Input({.shape = {3}}), layers::Dense({.units = 4}), layers::Dense({.units = 1})}, "popped");
  model.pop();
  CHECK(model.layers().size() == 1);
  CHECK(model.weights().size() == 2);
  CHECK(model.predict(Tensor::ones({2, 3})).shape() == Shape{2, 4});
  model.add(layers::Dense({.units = 5}));
  CHECK(model.predict(Tensor::ones({2, 3})).shape() == Shape{2, 5});

  Sequential late({layers::Dense({.units = 4}), layers::Dense({.units = 2})}, "late");
  late.predict(Tensor::ones({2, 7}));
  late.pop();
  CHECK(late.predict(Tensor::ones({2, 7})).shape() == Shape{2, 4});
  late.pop();
  KEEL_CHECK_THROWS(late.pop(), UsageError, Contains("empty"));
  // Emptied, the model still serializes and reloads (a model without layers records no built shape).
  CHECK_FALSE(Sequential::from_config(late.get_config())->built());
}

TEST_CASE("Sequential set_dtype reaches every layer before build and is refused after", "[model]") {
  auto dense = layers::Dense({.units = 2});
  auto bn = layers::BatchNormalization();
  Sequential model({dense, bn}, "typed");
  model.set_dtype(DType::float64);
  CHECK(model.dtype() == DType::float64);
  CHECK(dense->dtype() == DType::float64);
  CHECK(bn->dtype() == DType::float64);
  Tensor y = model.predict(Tensor::ones({4, 3}));
  CHECK(y.dtype() == DType::float64);
  CHECK(dense->weights()[0].dtype() == DType::float64);
  CHECK(bn->moving_mean().dtype() == DType::float64);
  KEEL_CHECK_THROWS(model.set_dtype(DType::float32), UsageError, Contains("'typed'"));
  CHECK(dense->dtype() == DType::float64);

  // One layer already built: refused before anything changes.
  auto fresh = layers::Dense({.units = 3});
  auto built = layers::Dense({.units = 2}, "already_built");
  built->build_from({1, 3});
  Sequential mixed({fresh, built}, "mixed");
  KEEL_CHECK_THROWS(mixed.set_dtype(DType::float64), UsageError, Contains("'mixed'") && Contains("'already_built'"));
  CHECK(fresh->dtype() == DType::float32);
  CHECK(mixed.dtype() == DType::float32);
}

TEST_CASE("layers::deserialize(serialize()) round-trips a Sequential and from_config names bad keys", "[model]") {
  auto inner = std::make_shared<Sequential>(
      std::vector<layers::LayerPtr>{layers::Dense({.units = 2}, "inner_dense")}, "inner");
  auto model = std::make_shared<Sequential>(
      std::vector<layers::LayerPtr>{layers::Input({.shape = {3}}), layers::Dense({.units = 4}, "d"),
                                    layers::BatchNormalization({}, "bn"), inner},
      "outer");
  const nlohmann::json serialized = model->serialize();
  auto back = std::dynamic_pointer_cast<Sequential>(layers::deserialize(serialized));
  REQUIRE(back);
  CHECK(back->built());
  CHECK(back->serialize() == serialized);
  CHECK(Sequential::from_config(model->get_config())->serialize() == serialized);
  // The serialized form is not a config: a ValueError naming the class and the key.
  KEEL_CHECK_THROWS(Sequential::from_config(serialized), ValueError, Contains("Sequential") && Contains("class_name"));
  nlohmann::json no_layers = model->get_config();
  no_layers.erase("layers");
  KEEL_CHECK_THROWS(Sequential::from_config(no_layers), ValueError, Contains("Sequential") && Contains("layers"));
  nlohmann::json bad_layers = model->get_config();
  bad_layers["layers"] = 3;
  KEEL_CHECK_THROWS(Sequential::from_config(bad_layers), ValueError, Contains("Sequential") && Contains("layers"));
  // The container's dtype comes back too, so a float64 model does not round its input to float32.
  config::set_floatx("float64");
  Sequential typed({layers::Input({.shape = {1}}), layers::Dense({.units = 1, .kernel_initializer = "ones"})}, "f64");
  config::set_floatx("float32");
  auto typed_back = std::dynamic_pointer_cast<Sequential>(layers::deserialize(typed.serialize()));
  CHECK(typed_back->dtype() == DType::float64);
  CHECK(typed_back->predict(Tensor::full({1, 1}, 1 + 1e-12, DType::float64)).to_vector()[0] == 1 + 1e-12);
  nlohmann::json bad_name = model->get_config();
  bad_name["name"] = 7;
  KEEL_CHECK_THROWS(Sequential::from_config(bad_name), ValueError, Contains("Sequential") && Contains("name"));
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

TEST_CASE("a Sequential whose Input leaves a size free takes inputs of any such size", "[model]") {
  auto dense = layers::Dense({.units = 2, .kernel_initializer = "ones"});
  Sequential model({layers::Input({.shape = {-1, 3}}), dense});
  Tensor a = model(Tensor::ones({2, 4, 3}), false);
  CHECK(a.shape() == Shape{2, 4, 2});
  Tensor b = model(Tensor::ones({2, 5, 3}), false);
  CHECK(b.shape() == Shape{2, 5, 2});
  CHECK(b.to_vector()[0] == 3.0);  // ones · ones over 3 inputs, zero bias
  CHECK_THROWS_AS(model(Tensor::ones({2, 5, 4}), false), ShapeError);
}
