#include <catch2/catch.hpp>

#include <atomic>
#include <cmath>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>

#include "keel/core/error.h"
#include "keel/core/parallel.h"
#include "keel/core/random.h"
#include "keel/layers/batch_normalization.h"
#include "keel/layers/dense.h"
#include "keel/layers/input.h"
#include "keel/models/saving.h"
#include "keel/models/sequential.h"
#include "keel/optim/adam.h"
#include "keel/optim/sgd.h"
#include "models/model_test_support.h"
#include "support/make_tensor.h"
#include "support/stderr_capture.h"
#include "support/temp_dir.h"
#include "support/throws.h"

using Catch::Matchers::Contains;
using namespace keel;

namespace {

// Dense(2 → 1) with kernel [0.5, −1] and bias 0.25: prediction 0.5·a − b + 0.25.
std::shared_ptr<Sequential> fixed_linear() {
  auto model = std::make_shared<Sequential>(
      std::vector<layers::LayerPtr>{layers::Input({.shape = {2}}), layers::Dense({.units = 1}, "lin")});
  model->build_from_declared_input();
  model->set_weights({test::f32({0.5, -1.0}, {2, 1}), test::f32({0.25}, {1})});
  return model;
}

std::shared_ptr<Sequential> mlp_with_bn(std::int64_t inputs) {
  return std::make_shared<Sequential>(std::vector<layers::LayerPtr>{
      layers::Input({.shape = {inputs}}), layers::Dense({.units = 16, .activation = "relu"}),
      layers::BatchNormalization({}), layers::Dense({.units = 1, .activation = "sigmoid"})});
}

// Holds the first thread that passes through it after arm() until release(): lets a test stop one call
// in the middle while another thread tries its own.
class Gate {
 public:
  void arm() {
    std::lock_guard lock(mutex_);
    armed_ = true;
  }
  void pass() {
    std::unique_lock lock(mutex_);
    if (!armed_) return;
    armed_ = false;
    entered_ = true;
    changed_.notify_all();
    changed_.wait(lock, [&] { return released_; });
  }
  void wait_entered() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return entered_; });
  }
  void release() {
    std::lock_guard lock(mutex_);
    released_ = true;
    changed_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool armed_ = false, entered_ = false, released_ = false;
};

// Identity that stops at the gate in inference calls.
class GatedIdentity : public layers::Layer {
 public:
  explicit GatedIdentity(Gate& gate) : Layer("GatedIdentity", ""), gate_(gate) {}

 protected:
  Tensor call(const Tensor& x, const layers::CallContext& ctx) override {
    if (!ctx.training) gate_.pass();
    return x;
  }

 private:
  Gate& gate_;
};

// Identity with one weight, that stops at the gate while it builds (after creating the weight).
class GatedBuild : public layers::Layer {
 public:
  explicit GatedBuild(Gate& gate) : Layer("GatedBuild", ""), gate_(gate) {}

 protected:
  void build(const Shape&) override {
    add_weight("scale", {1}, {.initializer = "ones"});
    gate_.pass();
  }
  Tensor call(const Tensor& x, const layers::CallContext&) override { return x; }

 private:
  Gate& gate_;
};

// Runs `call` on a new thread while `gate` holds another call, and releases the gate once the new
// thread has finished or is waiting for the model.
void while_gated(Gate& gate, const Model& model, const std::function<void()>& call) {
  gate.wait_entered();
  std::atomic<bool> done{false};
  std::thread other([&] {
    call();
    done = true;
  });
  while (!done && model.calls_waiting() == 0) std::this_thread::yield();
  gate.release();
  other.join();
}

}  // namespace

TEST_CASE("compile accepts objects and Keras string names", "[model]") {
  auto model = fixed_linear();
  model->compile({.optimizer = "adam", .loss = "mse", .metrics = {"mae"}});
  CHECK(model->compiled());
  CHECK(model->optimizer()->class_name() == "Adam");
  CHECK(model->metrics_names() == std::vector<std::string>{"loss", "mae"});
  auto sgd = std::make_shared<optim::SGD>();
  model->compile({.optimizer = sgd, .loss = std::make_shared<losses::MeanAbsoluteError>(),
                  .metrics = {std::make_shared<metrics::MeanAbsoluteError>(metrics::NameOption{.name = "abs_err"})}});
  CHECK(model->optimizer() == sgd);
  CHECK(model->metrics_names() == std::vector<std::string>{"loss", "abs_err"});
  CHECK_THROWS_AS(model->compile({.optimizer = "no_such_optimizer", .loss = "mse"}), ValueError);
  CHECK_THROWS_AS(model->compile({.optimizer = "sgd", .loss = "no_such_loss"}), ValueError);
  KEEL_CHECK_THROWS(model->compile({.optimizer = "sgd"}), ValueError, Contains("needs a loss"));
}

TEST_CASE("fit and evaluate before compile are UsageErrors saying to call compile()", "[model]") {
  auto model = fixed_linear();
  Tensor x = Tensor::ones({4, 2}), y = Tensor::ones({4, 1});
  KEEL_CHECK_THROWS(model->fit(x, y), UsageError, Contains("call compile()"));
  KEEL_CHECK_THROWS(model->evaluate(x, y), UsageError, Contains("call compile()"));
  KEEL_CHECK_THROWS(model->train_on_batch(x, y), UsageError, Contains("compile()"));
  CHECK(model->predict(x).shape() == Shape{4, 1});  // predict needs no compile
}

TEST_CASE("zero samples, x/y count mismatch and a bad input shape are refused", "[model]") {
  auto model = fixed_linear();
  model->compile({.optimizer = "sgd", .loss = "mse"});
  KEEL_CHECK_THROWS(model->fit(Tensor::zeros({0, 2}), Tensor::zeros({0, 1})), ValueError, Contains("no samples"));
  KEEL_CHECK_THROWS(model->evaluate(Tensor::zeros({0, 2}), Tensor::zeros({0, 1})), ValueError, Contains("no samples"));
  KEEL_CHECK_THROWS(model->predict(Tensor::zeros({0, 2})), ValueError, Contains("no samples"));
  KEEL_CHECK_THROWS(model->fit(Tensor::zeros({100, 2}), Tensor::zeros({99, 1})), ValueError,
                    Contains("100") && Contains("99"));
  KEEL_CHECK_THROWS(model->fit(Tensor::zeros({10, 2}), Tensor::zeros({10, 1}), {.validation_split = 1.0}), ValueError,
                    Contains("validation_split"));

  auto wide = std::make_shared<Sequential>(
      std::vector<layers::LayerPtr>{layers::Input({.shape = {8}}, "features"), layers::Dense({.units = 3})});
  wide->build_from_declared_input();
  KEEL_CHECK_THROWS(wide->predict(Tensor::zeros({4, 7})), ShapeError,
                    Contains("InputLayer 'features'") && Contains("[4, 7]") && Contains("[8]"));
}

TEST_CASE("trainable changed after compile warns, and the compile snapshot trains until recompile", "[model]") {
  set_random_seed(3);
  auto first = layers::Dense({.units = 3}, "frozen_later");
  auto second = layers::Dense({.units = 1}, "head");
  Sequential model({layers::Input({.shape = {2}}), first, second});
  auto sgd = std::make_shared<optim::SGD>(optim::SGDOptions{.learning_rate = 0.1});
  model.compile({.optimizer = sgd, .loss = "mse"});
  auto [x, y] = test::two_gaussians(16, 1.0, 2);
  first->set_trainable(false);
  auto before = test::weight_bytes(*first);
  {
    test::StderrCapture err;
    model.fit(x, y, {.batch_size = 8, .verbose = 0});
    CHECK_THAT(err.text(), Contains("trainable flags changed after compile()") && Contains("compile() is called again"));
  }
  CHECK(test::weight_bytes(*first) != before);  // still in the compile-time snapshot

  model.compile({.optimizer = sgd, .loss = "mse"});  // the same optimizer instance
  before = test::weight_bytes(*first);
  {
    test::StderrCapture err;
    model.fit(x, y, {.batch_size = 8, .verbose = 0});
    CHECK(err.text().find("trainable flags changed") == std::string::npos);
  }
  CHECK(test::weight_bytes(*first) == before);
  CHECK(model.trainable_weights().size() == 2);
}

TEST_CASE("recompiling with the same optimizer instance gives new weights fresh slots", "[model]") {
  set_random_seed(4);
  auto first = layers::Dense({.units = 3}, "late_trained");
  auto second = layers::Dense({.units = 1}, "early_trained");
  Sequential model({layers::Input({.shape = {2}}), first, second});
  first->set_trainable(false);
  auto adam = std::make_shared<optim::Adam>(optim::AdamOptions{.learning_rate = 0.01});
  model.compile({.optimizer = adam, .loss = "mse"});
  auto [x, y] = test::two_gaussians(16, 1.0, 2);
  model.fit(x, y, {.batch_size = 8, .verbose = 0});
  // iterations + m and v for the head's kernel and bias.
  CHECK(adam->state(structural_weights(model)).size() == 1 + 2 * 2);
  CHECK(adam->iterations() == 2);
  first->set_trainable(true);
  model.compile({.optimizer = adam, .loss = "mse"});
  auto before = test::weight_bytes(*first);
  model.fit(x, y, {.batch_size = 8, .verbose = 0});
  CHECK(adam->state(structural_weights(model)).size() == 1 + 2 * 4);
  CHECK(adam->iterations() == 4);
  CHECK(test::weight_bytes(*first) != before);
  // Fresh slots: after one Adam step from zero moments, m = (1 − β₁)·g is non-zero and v >= 0.
  for (const auto& [name, value] : adam->state(structural_weights(model)))
    if (name != "iterations") CHECK(std::isfinite(value.to_vector()[0]));
}

TEST_CASE("evaluate returns the loss then the metrics, computed by hand", "[model]") {
  auto model = fixed_linear();
  model->compile({.optimizer = "sgd", .loss = "mse", .metrics = {"mae"}});
  // Predictions 0.5a − b + 0.25 for rows (1, 0), (0, 1), (2, 2), (−1, 1), (4, 0): 0.75, −0.75, −0.75, −1.25, 2.25.
  Tensor x = test::f32({1, 0, 0, 1, 2, 2, -1, 1, 4, 0}, {5, 2});
  Tensor y = test::f32({1, 0, -1, 0, 2}, {5, 1});
  // Errors −0.25, −0.75, 0.25, −1.25, 0.25 → MSE (0.0625 + 0.5625 + 0.0625 + 1.5625 + 0.0625) / 5 = 0.4625,
  // MAE 2.75 / 5 = 0.55; with batches of 2 the loss is the batch-size-weighted mean, the same value.
  for (std::int64_t batch : {1, 2, 5, 32}) {
    auto result = model->evaluate(x, y, {.batch_size = batch});
    REQUIRE(result.size() == 2);
    CHECK(result[0] == Approx(0.4625).epsilon(1e-6));
    CHECK(result[1] == Approx(0.55).epsilon(1e-6));
  }
  auto on_batch = model->test_on_batch(x, y);
  CHECK(on_batch[0] == Approx(0.4625).epsilon(1e-6));
  // Sample weights: Σ wᵢ·lossᵢ / N with w = (2, 0, 0, 0, 1): (0.125 + 0.0625) / 5 = 0.0375.
  auto weighted = model->evaluate(x, y, {.sample_weight = test::f32({2, 0, 0, 0, 1}, {5})});
  CHECK(weighted[0] == Approx(0.0375).epsilon(1e-6));
}

TEST_CASE("train_on_batch returns the loss before the update and applies one SGD step", "[model]") {
  auto model = fixed_linear();
  model->compile({.optimizer = std::make_shared<optim::SGD>(optim::SGDOptions{.learning_rate = 0.1}), .loss = "mse"});
  Tensor x = test::f32({1, 0, 0, 1}, {2, 2});
  Tensor y = test::f32({1, 0}, {2, 1});
  // Predictions 0.75, −0.75; errors −0.25, −0.75; loss (0.0625 + 0.5625) / 2 = 0.3125.
  // dL/dpred = 2·e/2 = (−0.25, −0.75); dL/dk = (−0.25·1, −0.75·1) = (−0.25, −0.75); dL/db = −1.
  auto r = model->train_on_batch(x, y);
  CHECK(r[0] == Approx(0.3125).epsilon(1e-6));
  auto w = model->get_weights();
  CHECK(w[0].to_vector()[0] == Approx(0.525).epsilon(1e-6));
  CHECK(w[0].to_vector()[1] == Approx(-0.925).epsilon(1e-6));
  CHECK(w[1].to_vector()[0] == Approx(0.35).epsilon(1e-6));
  CHECK(model->optimizer()->iterations() == 1);
}

TEST_CASE("predict in batches equals one call, predict_on_batch, in inference mode", "[model]") {
  set_random_seed(8);
  auto model = mlp_with_bn(3);
  model->compile({.optimizer = "adam", .loss = "binary_crossentropy"});
  Tensor x = random::normal({70, 3}, 0, 1, 99);
  model->fit(x, Tensor::ones({70, 1}), {.batch_size = 16, .epochs = 1, .verbose = 0});
  Tensor whole = model->predict_on_batch(x);
  for (std::int64_t batch : {1, 7, 32, 70, 100}) {
    Tensor batched = model->predict(x, {.batch_size = batch});
    REQUIRE(batched.shape() == Shape{70, 1});
    CHECK(test::tensor_bytes(batched) == test::tensor_bytes(whole));
  }
  // Inference mode: each row's output does not depend on the rest of the batch.
  Tensor one = model->predict(x.narrow(0, 5, 1));
  CHECK(test::tensor_bytes(one) == test::tensor_bytes(whole.narrow(0, 5, 1)));
}

TEST_CASE("concurrent predict from 4 threads gives bitwise the single-thread results", "[model]") {
  set_random_seed(21);
  auto model = mlp_with_bn(6);
  model->compile({.optimizer = "adam", .loss = "binary_crossentropy"});
  model->fit(random::normal({64, 6}, 0, 1, 5), Tensor::ones({64, 1}), {.batch_size = 16, .verbose = 0});
  constexpr int kThreads = 4, kCalls = 200;
  std::vector<Tensor> inputs, expected;
  for (int i = 0; i < kThreads * kCalls; ++i) {
    inputs.push_back(random::normal({1 + i % 9, 6}, 0, 2, 1000 + static_cast<std::uint64_t>(i)));
    expected.push_back(model->predict(inputs.back()));
  }
  std::atomic<int> mismatches{0}, failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int c = 0; c < kCalls; ++c) {
        const int i = c * kThreads + t;
        try {
          if (test::tensor_bytes(model->predict(inputs[i])) != test::tensor_bytes(expected[i])) ++mismatches;
        } catch (...) {
          ++failures;
        }
      }
    });
  for (auto& th : threads) th.join();
  CHECK(mismatches == 0);
  CHECK(failures == 0);
}

TEST_CASE("a second fit, or predict and evaluate from another thread during fit, is a UsageError", "[model]") {
  set_random_seed(2);
  auto model = fixed_linear();
  model->compile({.optimizer = "sgd", .loss = "mse"});
  Tensor x = Tensor::ones({8, 2}), y = Tensor::ones({8, 1});
  std::string fit_error, predict_error, evaluate_error;
  bool tried = false;
  auto probe = std::make_shared<callbacks::LambdaCallback>(callbacks::LambdaCallbackOptions{
      .on_train_batch_begin =
          [&](std::int64_t, const Logs&) {
            if (tried) return;
            tried = true;
            std::thread other([&] {
              try {
                model->fit(x, y, {.verbose = 0});
              } catch (const UsageError& e) {
                fit_error = e.what();
              }
              try {
                model->predict(x);
              } catch (const UsageError& e) {
                predict_error = e.what();
              }
              try {
                model->evaluate(x, y);
              } catch (const UsageError& e) {
                evaluate_error = e.what();
              }
            });
            other.join();
          }});
  model->fit(x, y, {.batch_size = 4, .verbose = 0, .callbacks = {probe}});
  CHECK_THAT(fit_error, Contains("already being trained"));
  CHECK_THAT(predict_error, Contains("predict") && Contains("another thread"));
  CHECK_THAT(evaluate_error, Contains("evaluate") && Contains("another thread"));
  // After fit returns, predict from another thread works again.
  Tensor after;
  std::thread([&] { after = model->predict(x); }).join();
  CHECK(after.shape() == Shape{8, 1});
}

TEST_CASE("every call that reads or changes the model from another thread during fit is a UsageError", "[model]") {
  set_random_seed(2);
  auto model = fixed_linear();
  model->compile({.optimizer = "sgd", .loss = "mse"});
  test::TempDir dir("fit_guard");
  model->save_weights(dir / "before.keel");
  const std::vector<Tensor> before = model->get_weights();
  Tensor x = Tensor::ones({8, 2}), y = Tensor::ones({8, 1});
  std::map<std::string, std::string> errors;
  std::map<std::string, std::function<void()>> calls = {
      {"save", [&] { model->save(dir / "save.keel"); }},
      {"save_weights", [&] { model->save_weights(dir / "save_weights.keel"); }},
      {"load_weights", [&] { model->load_weights(dir / "before.keel"); }},
      {"get_weights", [&] { model->get_weights(); }},
      {"set_weights", [&] { model->set_weights(before); }},
      {"train_on_batch", [&] { model->train_on_batch(x, y); }},
      {"test_on_batch", [&] { model->test_on_batch(x, y); }},
      {"compile", [&] { model->compile({.optimizer = "adam", .loss = "mae"}); }},
      {"evaluate", [&] { model->evaluate(x, y); }},
      {"predict", [&] { model->predict(x); }},
      {"predict_on_batch", [&] { model->predict_on_batch(x); }},
  };
  bool tried = false;
  auto probe = std::make_shared<callbacks::LambdaCallback>(callbacks::LambdaCallbackOptions{
      .on_train_batch_begin = [&](std::int64_t, const Logs&) {
        if (tried) return;
        tried = true;
        std::thread other([&] {
          for (const auto& [name, call] : calls) {
            try {
              call();
              errors[name] = "no error";
            } catch (const UsageError& e) {
              errors[name] = e.what();
            }
          }
        });
        other.join();
      }});
  model->fit(x, y, {.batch_size = 4, .verbose = 0, .callbacks = {probe}, .shuffle = false});
  for (const auto& [name, call] : calls) {
    INFO(name);
    CHECK_THAT(errors[name], Contains(name + ": model '") && Contains("is being trained by fit() on another thread"));
  }
  CHECK_FALSE(std::filesystem::exists(dir / "save.keel"));
  CHECK_FALSE(std::filesystem::exists(dir / "save_weights.keel"));
  CHECK(model->optimizer()->class_name() == "SGD");
  CHECK(model->optimizer()->iterations() == 2);  // fit's two steps, no train_on_batch
}

TEST_CASE("a save from a callback on the fitting thread writes the weights of that step", "[model][saving]") {
  auto model = fixed_linear();
  model->compile({.optimizer = "sgd", .loss = "mse"});
  test::TempDir dir("fit_guard_save");
  std::vector<std::string> saved;
  auto probe = std::make_shared<callbacks::LambdaCallback>(callbacks::LambdaCallbackOptions{
      .on_train_batch_end = [&](std::int64_t batch, const Logs&) {
        if (batch != 0) return;
        model->save(dir / "mid.keel");
        saved = test::weight_bytes(*model);
      }});
  model->fit(Tensor::ones({8, 2}), Tensor::ones({8, 1}), {.batch_size = 4, .verbose = 0, .callbacks = {probe}});
  auto loaded = load_model(dir / "mid.keel");
  REQUIRE_FALSE(saved.empty());
  CHECK(test::weight_bytes(*loaded) == saved);
  CHECK(test::weight_bytes(*model) != saved);
}

TEST_CASE("concurrent evaluate calls on one model run one after the other", "[model]") {
  Gate gate;
  auto model = std::make_shared<Sequential>(std::vector<layers::LayerPtr>{
      layers::Input({.shape = {2}}), std::make_shared<GatedIdentity>(gate), layers::Dense({.units = 1})});
  model->build_from_declared_input();
  model->set_weights({test::f32({0.5, -1.0}, {2, 1}), test::f32({0.25}, {1})});
  model->compile({.optimizer = "sgd", .loss = "mse"});
  // Predictions 0.5·a − b + 0.25 against targets 0: errors 0.75, −0.75, −0.75, −0.25.
  Tensor xa = test::f32({1, 0, 0, 1, 2, 2, 1, 1}, {4, 2}), ya = Tensor::zeros({4, 1});
  // Prediction 0.25 against targets 1: errors −0.75.
  Tensor xb = Tensor::zeros({2, 2}), yb = Tensor::ones({2, 1});
  gate.arm();
  std::vector<double> a, b;
  std::thread first([&] { a = model->evaluate(xa, ya, {.batch_size = 2}); });
  while_gated(gate, *model, [&] { b = model->evaluate(xb, yb, {.batch_size = 2}); });
  first.join();
  REQUIRE(a.size() == 1);
  REQUIRE(b.size() == 1);
  CHECK(a[0] == Approx((3 * 0.5625 + 0.0625) / 4));
  CHECK(b[0] == Approx(0.5625));
}

TEST_CASE("the first predicts on an unbuilt model from two threads build it once", "[model]") {
  Gate gate;
  auto gated = std::make_shared<GatedBuild>(gate);
  auto model = std::make_shared<Sequential>(std::vector<layers::LayerPtr>{gated});
  Tensor x = test::f32({1, 2, 3, 4, 5, 6}, {3, 2});
  gate.arm();
  Tensor a, b;
  std::thread first([&] { a = model->predict(x); });
  while_gated(gate, *model, [&] { b = model->predict(x); });
  first.join();
  CHECK(gated->weights().size() == 1);
  CHECK(test::tensor_bytes(a) == test::tensor_bytes(x));
  CHECK(test::tensor_bytes(b) == test::tensor_bytes(x));
}

TEST_CASE("the same seed gives identical weights across runs - a different seed does not", "[model][fit]") {
  auto run = [](std::uint64_t seed) {
    set_random_seed(seed);
    auto model = mlp_with_bn(2);
    model->compile({.optimizer = "adam", .loss = "binary_crossentropy"});
    auto [x, y] = test::two_gaussians(96, 1.0, 17);
    model->fit(x, y, {.batch_size = 16, .epochs = 2, .verbose = 0});
    return test::weight_bytes(*model);
  };
  auto a = run(123);
  CHECK(run(123) == a);
  CHECK(run(124) != a);
}

TEST_CASE("1 and 2 threads give bitwise identical weights after a few steps", "[model][fit]") {
  auto run = [](int threads) {
    set_num_threads(threads);
    set_random_seed(77);
    auto model = std::make_shared<Sequential>(std::vector<layers::LayerPtr>{
        layers::Input({.shape = {64}}), layers::Dense({.units = 256, .activation = "relu"}),
        layers::BatchNormalization({}), layers::Dense({.units = 10})});
    model->compile({.optimizer = "adam", .loss = std::make_shared<losses::SparseCategoricalCrossentropy>(
                                                  losses::SparseCategoricalCrossentropyOptions{.from_logits = true})});
    Tensor x = random::normal({512, 64}, 0, 1, 8);
    std::vector<double> labels(512);
    for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<double>((i * 7) % 10);
    model->fit(x, test::i64(labels, {512}), {.batch_size = 128, .epochs = 1, .verbose = 0, .seed = 5});
    return test::weight_bytes(*model);
  };
  auto one = run(1);
  auto two = run(2);
  set_num_threads(0);
  CHECK(one == two);
}
