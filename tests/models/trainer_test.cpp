// Keras 3's "customize what happens in fit": a subclass overrides train_step, test_step or predict_step
// and fit, evaluate and predict run it, with compute_loss, track_loss, apply_gradients and
// compute_metrics as its building blocks.
#include <catch2/catch.hpp>

#include "keel/autograd/ops.h"
#include "keel/layers/dense.h"
#include "keel/layers/input.h"
#include "keel/models/sequential.h"
#include "keel/optim/sgd.h"
#include "support/make_tensor.h"

using namespace keel;

namespace {

std::vector<layers::LayerPtr> one_weight() {
  return {layers::Input({.shape = {1}}), layers::Dense({.units = 1, .use_bias = false, .kernel_initializer = "ones"})};
}

// Trains on twice the compiled loss.
class DoubledLoss : public Sequential {
 public:
  DoubledLoss() : Sequential(one_weight()) {}
  int train_steps = 0, test_steps = 0;

 protected:
  Logs train_step(const Batch& batch) override {
    ++train_steps;
    layers::StateUpdates staged;
    std::vector<Tensor> y_pred = call_all(batch.x, layers::CallContext{.training = true, .staged = &staged});
    Tensor loss = compute_loss(batch.x, batch.y, y_pred, batch.sample_weight) * 2.0;
    track_loss(loss);
    apply_gradients(loss, staged);
    return compute_metrics(batch.x, batch.y, y_pred, batch.sample_weight);
  }
  Logs test_step(const Batch& batch) override {
    ++test_steps;
    return Sequential::test_step(batch);
  }
  std::vector<Tensor> predict_step(const std::vector<Tensor>& x) override {
    return {Sequential::predict_step(x)[0] + 1.0};
  }
};

}  // namespace

TEST_CASE("fit runs a subclass's train_step: twice the loss moves the weight twice as far", "[fit]") {
  auto model = std::make_shared<DoubledLoss>();
  model->compile({.optimizer = std::make_shared<optim::SGD>(optim::SGD::Options{.learning_rate = 0.1}), .loss = "mse"});
  // w = 1, x = 1, y = 0: mse (w·x − y)² = 1, its gradient 2(w·x − y)·x = 2; doubled 4; w ← 1 − 0.1·4 = 0.6.
  History h = model->fit(test::f32({1}, {1, 1}), test::f32({0}, {1, 1}), {.batch_size = 1, .epochs = 1, .verbose = 0});
  CHECK(model->train_steps == 1);
  CHECK(h.history["loss"][0] == Approx(2.0));
  CHECK(model->get_weights()[0].item() == Approx(0.6));
  // train_on_batch runs the same step: mse (0.6 − 0)² = 0.36, doubled 0.72; w ← 0.6 − 0.1·2·2·0.6 = 0.36.
  CHECK(model->train_on_batch(test::f32({1}, {1, 1}), test::f32({0}, {1, 1}))[0] == Approx(0.72));
  CHECK(model->train_steps == 2);
  CHECK(model->get_weights()[0].item() == Approx(0.36));
}

TEST_CASE("evaluate runs test_step once per batch and predict runs predict_step", "[fit]") {
  auto model = std::make_shared<DoubledLoss>();
  model->compile({.optimizer = "sgd", .loss = "mse"});
  Tensor x = test::f32({1, 2, 3, 4, 5}, {5, 1});
  // w = 1: predictions equal x, so against y = x + 1 every squared error is 1.
  std::vector<double> result = model->evaluate(x, x + 1.0, {.batch_size = 2});
  CHECK(model->test_steps == 3);
  CHECK(result[0] == Approx(1.0));
  CHECK(model->predict(x, {.batch_size = 2}).to_vector() == std::vector<double>{2, 3, 4, 5, 6});
  CHECK(model->predict_on_batch(x).to_vector() == std::vector<double>{2, 3, 4, 5, 6});
}
