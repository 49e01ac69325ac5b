#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <regex>
#include <set>

#include "keel/core/error.h"
#include "keel/core/random.h"
#include "keel/layers/batch_normalization.h"
#include "keel/layers/dense.h"
#include "keel/layers/input.h"
#include "keel/models/sequential.h"
#include "keel/optim/sgd.h"
#include "models/model_test_support.h"
#include "support/make_tensor.h"
#include "support/stderr_capture.h"
#include "support/temp_dir.h"
#include "support/throws.h"

using Catch::Matchers::Contains;
using namespace keel;

namespace {

std::shared_ptr<optim::SGD> sgd(double lr) { return std::make_shared<optim::SGD>(optim::SGDOptions{.learning_rate = lr}); }

// Dense(2 → 1), kernel [0.5, −1], bias 0.25. With lr 1e-30 an SGD step rounds back to the same
// float32 weights, so every batch loss below is computed by hand from these predictions:
// rows (1, 0), (0, 1), (2, 2), (−1, 1), (4, 0) → 0.75, −0.75, −0.75, −1.25, 2.25.
struct FrozenLinear {
  std::shared_ptr<Sequential> model = std::make_shared<Sequential>(
      std::vector<layers::LayerPtr>{layers::Input({.shape = {2}}), layers::Dense({.units = 1})});
  Tensor x = test::f32({1, 0, 0, 1, 2, 2, -1, 1, 4, 0}, {5, 2});
  Tensor y = test::f32({1, 0, 1, 0, 1}, {5, 1});  // squared errors 0.0625, 0.5625, 3.0625, 1.5625, 1.5625
  FrozenLinear() {
    model->build_from_declared_input();
    model->set_weights({test::f32({0.5, -1.0}, {2, 1}), test::f32({0.25}, {1})});
    model->compile({.optimizer = sgd(1e-30), .loss = "mse"});
  }
};

// Input(1) → recorder → Dense(1): the recorder sees the sample indices fit feeds.
struct Recorded {
  std::shared_ptr<test::BatchRecorder> recorder = std::make_shared<test::BatchRecorder>();
  std::shared_ptr<Sequential> model = std::make_shared<Sequential>(
      std::vector<layers::LayerPtr>{layers::Input({.shape = {1}}), recorder, layers::Dense({.units = 1})});
  Recorded() { model->compile({.optimizer = sgd(1e-4), .loss = "mse"}); }
};

std::vector<double> flatten(const std::vector<std::vector<double>>& batches, std::size_t from, std::size_t to) {
  std::vector<double> out;
  for (std::size_t i = from; i < to; ++i) out.insert(out.end(), batches[i].begin(), batches[i].end());
  return out;
}

}  // namespace

TEST_CASE("a tiny MLP with BatchNormalization fits two Gaussian classes to 99 percent", "[fit]") {
  set_random_seed(1234);
  auto [x, y] = test::two_gaussians(512, 2.5, 99);
  auto [x_test, y_test] = test::two_gaussians(256, 2.5, 100);
  Sequential model({layers::Input({.shape = {2}}), layers::Dense({.units = 8, .activation = "relu"}),
                    layers::BatchNormalization({}), layers::Dense({.units = 1, .activation = "sigmoid"})});
  model.compile({.optimizer = "adam", .loss = "binary_crossentropy", .metrics = {"accuracy"}});
  History h = model.fit(x, y, {.batch_size = 32, .epochs = 15, .verbose = 0, .seed = 3});
  CHECK(h.history.at("loss").back() < h.history.at("loss").front());
  auto result = model.evaluate(x_test, y_test);
  CHECK(result[1] >= 0.99);
}

TEST_CASE("validation_split takes the last fraction before shuffling - shuffling is seeded and per epoch", "[fit]") {
  auto [x, y] = test::indexed_samples(10);
  Recorded run;
  History h = run.model->fit(x, y, {.batch_size = 3, .epochs = 2, .verbose = 0, .validation_split = 0.2, .seed = 42});
  auto& b = run.recorder->batches;
  REQUIRE(b.size() == 6);  // 8 training samples in batches of 3, 3, 2: the last partial batch is kept
  CHECK(b[2].size() == 2);
  auto epoch1 = flatten(b, 0, 3), epoch2 = flatten(b, 3, 6);
  auto sorted1 = epoch1, sorted2 = epoch2;
  std::sort(sorted1.begin(), sorted1.end());
  std::sort(sorted2.begin(), sorted2.end());
  CHECK(sorted1 == std::vector<double>{0, 1, 2, 3, 4, 5, 6, 7});  // samples 8 and 9 never train
  CHECK(sorted2 == sorted1);
  CHECK(epoch1 != epoch2);  // reshuffled every epoch
  CHECK(epoch1 != sorted1);
  // val_loss is over samples 8 and 9 with the final weights: mean of (k·i + b − 2i)².
  auto w = run.model->get_weights();
  const double k = w[0].to_vector()[0], bias = w[1].to_vector()[0];
  const double expected = (std::pow(k * 8 + bias - 16, 2) + std::pow(k * 9 + bias - 18, 2)) / 2;
  CHECK(h.history.at("val_loss").back() == Approx(expected).epsilon(1e-5));

  Recorded again;  // the same seed: the same orders
  again.model->fit(x, y, {.batch_size = 3, .epochs = 2, .verbose = 0, .validation_split = 0.2, .seed = 42});
  CHECK(again.recorder->batches == b);
  Recorded other;
  other.model->fit(x, y, {.batch_size = 3, .epochs = 2, .verbose = 0, .validation_split = 0.2, .seed = 43});
  CHECK(other.recorder->batches != b);
  Recorded unshuffled;
  unshuffled.model->fit(x, y, {.batch_size = 3, .epochs = 1, .verbose = 0, .validation_split = 0.2, .shuffle = false});
  CHECK(unshuffled.recorder->batches == std::vector<std::vector<double>>{{0, 1, 2}, {3, 4, 5}, {6, 7}});
}

TEST_CASE("validation_data is evaluated in inference mode after every epoch", "[fit]") {
  FrozenLinear f;
  History h = f.model->fit(f.x, f.y, {.batch_size = 5, .epochs = 2, .verbose = 0,
                                      .validation_data = std::pair{f.x.narrow(0, 0, 2), f.y.narrow(0, 0, 2)}});
  REQUIRE(h.history.at("val_loss").size() == 2);
  CHECK(h.history.at("val_loss")[1] == Approx((0.0625 + 0.5625) / 2).epsilon(1e-6));
  CHECK(h.epoch == std::vector<std::int64_t>{0, 1});
}

TEST_CASE("class_weight and sample_weight scale each sample's loss, divided by N", "[fit]") {
  SECTION("unweighted") {
    FrozenLinear f;
    CHECK(f.model->fit(f.x, f.y, {.batch_size = 5, .verbose = 0}).history.at("loss")[0] ==
          Approx(6.8125 / 5).epsilon(1e-6));
  }
  SECTION("class weights 2 for class 0, 0.5 for class 1") {
    // (0.5·0.0625 + 2·0.5625 + 0.5·3.0625 + 2·1.5625 + 0.5·1.5625) / 5 — not divided by Σw.
    FrozenLinear f;
    auto h = f.model->fit(f.x, f.y, {.batch_size = 5, .verbose = 0, .class_weight = {{0, 2.0}, {1, 0.5}}});
    CHECK(h.history.at("loss")[0] == Approx(6.59375 / 5).epsilon(1e-6));
  }
  SECTION("class weights times sample weights") {
    FrozenLinear f;
    auto h = f.model->fit(f.x, f.y, {.batch_size = 5, .verbose = 0, .class_weight = {{0, 2.0}, {1, 0.5}},
                                     .sample_weight = test::f32({1, 1, 0, 1, 2}, {5})});
    CHECK(h.history.at("loss")[0] == Approx(5.84375 / 5).epsilon(1e-6));
  }
}

TEST_CASE("the epoch loss is the batch-size-weighted mean and the last partial batch counts", "[fit]") {
  FrozenLinear f;
  auto before = test::weight_bytes(*f.model);
  std::vector<double> running;
  auto probe = std::make_shared<callbacks::LambdaCallback>(callbacks::LambdaCallbackOptions{
      .on_train_batch_end = [&](std::int64_t, const Logs& logs) { running.push_back(logs.at("loss")); }});
  auto h = f.model->fit(f.x, f.y, {.batch_size = 2, .verbose = 0, .callbacks = {probe}, .shuffle = false});
  REQUIRE(test::weight_bytes(*f.model) == before);  // the lr-1e-30 premise
  // Batches (0.0625, 0.5625), (3.0625, 1.5625), (1.5625): 0.625 + 4.625 + 1.5625 over 5 samples
  // (the mean of the batch means would be 1.3958).
  REQUIRE(running.size() == 3);
  CHECK(running[0] == Approx(0.3125).epsilon(1e-6));
  CHECK(running[1] == Approx(5.25 / 4).epsilon(1e-6));
  CHECK(h.history.at("loss")[0] == Approx(1.3625).epsilon(1e-6));
}

TEST_CASE("a last batch of one sample with BatchNormalization completes with a warning", "[fit]") {
  set_random_seed(5);
  auto [x, y] = test::two_gaussians(9, 1.0, 4);
  Sequential model({layers::Input({.shape = {2}}), layers::Dense({.units = 4}), layers::BatchNormalization({}),
                    layers::Dense({.units = 1})});
  model.compile({.optimizer = "sgd", .loss = "mse"});
  test::StderrCapture err;
  History h = model.fit(x, y, {.batch_size = 4, .epochs = 2, .verbose = 0, .shuffle = false});
  CHECK_THAT(err.text(), Contains("one value per channel"));
  CHECK(std::isfinite(h.history.at("loss")[1]));
  for (const Tensor& w : model.get_weights())
    for (double v : w.to_vector()) REQUIRE(std::isfinite(v));
}

TEST_CASE("initial_epoch and epochs: epochs is the final epoch index", "[fit]") {
  FrozenLinear f;
  std::vector<std::int64_t> begun;
  auto probe = std::make_shared<callbacks::LambdaCallback>(callbacks::LambdaCallbackOptions{
      .on_epoch_begin = [&](std::int64_t e, const Logs&) { begun.push_back(e); }});
  test::CoutCapture out;
  History h = f.model->fit(f.x, f.y, {.batch_size = 5, .epochs = 5, .verbose = 2, .callbacks = {probe}, .initial_epoch = 3});
  CHECK(begun == std::vector<std::int64_t>{3, 4});
  CHECK(h.epoch == std::vector<std::int64_t>{3, 4});
  CHECK(h.history.at("loss").size() == 2);
  CHECK_THAT(out.text(), Contains("Epoch 4/5\n") && Contains("Epoch 5/5\n"));
  CHECK(f.model->fit(f.x, f.y, {.epochs = 2, .verbose = 0, .initial_epoch = 2}).epoch.empty());
}

TEST_CASE("History holds one value per epoch for loss, metrics and validation", "[fit]") {
  FrozenLinear f;
  f.model->compile({.optimizer = sgd(1e-30), .loss = "mse", .metrics = {"mae"}});
  History h = f.model->fit(f.x, f.y, {.batch_size = 2, .epochs = 3, .verbose = 0, .validation_split = 0.4});
  std::set<std::string> keys;
  for (const auto& [k, v] : h.history) {
    keys.insert(k);
    CHECK(v.size() == 3);
  }
  CHECK(keys == std::set<std::string>{"loss", "mae", "val_loss", "val_mae"});
  // Training on the first 3 rows: squared errors 0.0625, 0.5625, 3.0625; validation on the last 2: 1.5625 each.
  CHECK(h.history.at("loss")[2] == Approx(3.6875 / 3).epsilon(1e-6));
  CHECK(h.history.at("mae")[2] == Approx(2.75 / 3).epsilon(1e-6));
  CHECK(h.history.at("val_loss")[0] == Approx(1.5625).epsilon(1e-6));
  CHECK(h.history.at("val_mae")[0] == Approx(1.25).epsilon(1e-6));
}

TEST_CASE("verbose 0, 1 and 2 print nothing, a bar line per epoch, a plain line per epoch", "[fit]") {
  const std::string number = R"(\d+\.\d{4})";
  const std::string per_step = R"(\d+s \d+(ms|us|s)/step)";
  std::string bar;
  for (int i = 0; i < 20; ++i) bar += "━";
  // 3 training samples in batches of 2: 2 steps per epoch.
  auto output = [](int verbose) {
    FrozenLinear f;
    test::CoutCapture out;
    f.model->fit(f.x, f.y, {.batch_size = 2, .epochs = 2, .verbose = verbose, .validation_split = 0.4});
    return out.text();
  };
  CHECK(output(0).empty());
  const std::string line1 = "2/2 " + bar + " " + per_step + " - loss: " + number + " - val_loss: " + number + "\n";
  CHECK(std::regex_match(output(1), std::regex("Epoch 1/2\n" + line1 + "Epoch 2/2\n" + line1)));
  const std::string line2 = R"(2/2 - \d+s - \d+(ms|us|s)/step - loss: )" + number + " - val_loss: " + number + "\n";
  INFO(output(2));
  CHECK(std::regex_match(output(2), std::regex("Epoch 1/2\n" + line2 + "Epoch 2/2\n" + line2)));
}

TEST_CASE("with TerminateOnNaN a non-finite step changes nothing and stops training", "[fit]") {
  set_random_seed(9);
  std::vector<double> values(24);
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = std::sin(static_cast<double>(i));
  values[8] = std::nan("");  // sample 4, in the second batch of 4
  Tensor x = test::f32(values, {12, 2});
  Tensor y = Tensor::ones({12, 1});
  auto make = [] {
    auto bn = layers::BatchNormalization({.momentum = 0.5});
    auto model = std::make_shared<Sequential>(std::vector<layers::LayerPtr>{
        layers::Input({.shape = {2}}), layers::Dense({.units = 3}), bn, layers::Dense({.units = 1})});
    model->compile({.optimizer = sgd(0.1), .loss = "mse"});
    return std::pair{model, bn};
  };
  SECTION("stops") {
    auto [model, bn] = make();
    std::vector<std::string> after_first;
    auto probe = std::make_shared<callbacks::LambdaCallback>(callbacks::LambdaCallbackOptions{
        .on_train_batch_end = [&, m = model.get()](std::int64_t batch, const Logs&) {
          if (batch == 0) after_first = test::weight_bytes(*m);
        }});
    auto bn_before = test::weight_bytes(*bn);
    test::CoutCapture out;
    model->fit(x, y, {.batch_size = 4, .epochs = 3, .verbose = 0,
                      .callbacks = {probe, std::make_shared<callbacks::TerminateOnNaN>()}, .shuffle = false});
    CHECK_THAT(out.text(), Contains("Batch 1: Invalid loss, terminating training"));
    REQUIRE_FALSE(after_first.empty());
    CHECK(test::weight_bytes(*model) == after_first);  // weights and moving statistics as after step 0
    CHECK(test::weight_bytes(*bn) != bn_before);         // step 0 did move them: staged, then committed
    CHECK(model->optimizer()->iterations() == 1);
  }
  SECTION("the epoch logs carry the NaN loss, and ModelCheckpoint sees no improvement") {
    auto [model, bn] = make();
    test::TempDir dir("terminate_on_nan");
    auto checkpoint = std::make_shared<callbacks::ModelCheckpoint>(callbacks::ModelCheckpoint::Options{
        .filepath = (dir / "best.keel").string(), .monitor = "loss", .verbose = 1, .save_best_only = true});
    test::CoutCapture out;
    History h = model->fit(x.narrow(0, 4, 4), y.narrow(0, 4, 4),  // the NaN sample in the first batch
                           {.batch_size = 4, .epochs = 3, .verbose = 0,
                            .callbacks = {std::make_shared<callbacks::TerminateOnNaN>(), checkpoint}});
    REQUIRE(h.history["loss"].size() == 1);
    CHECK(std::isnan(h.history["loss"][0]));
    CHECK_THAT(out.text(), !Contains("improved"));
    CHECK_FALSE(std::filesystem::exists(dir / "best.keel"));
  }
  SECTION("trains on without it") {
    auto [model, bn] = make();
    model->fit(x, y, {.batch_size = 4, .epochs = 3, .verbose = 0, .shuffle = false});
    CHECK(model->optimizer()->iterations() == 9);
    CHECK(std::isnan(bn->get_weights()[2].to_vector()[0]));
  }
}

TEST_CASE("BN moving statistics inside fit move only when the step commits", "[fit]") {
  // Input 1-D with momentum 0: after one step moving_mean is that batch's mean exactly.
  auto bn = layers::BatchNormalization({.momentum = 0.0});
  Sequential model({layers::Input({.shape = {1}}), bn, layers::Dense({.units = 1})});
  model.compile({.optimizer = sgd(0.01), .loss = "mse"});
  std::vector<double> seen_during_batch;
  auto probe = std::make_shared<callbacks::LambdaCallback>(callbacks::LambdaCallbackOptions{
      .on_train_batch_begin = [&](std::int64_t, const Logs&) { seen_during_batch.push_back(bn->get_weights()[2].item()); }});
  model.fit(test::f32({1, 2, 3, 10, 20, 30}, {6, 1}), Tensor::zeros({6, 1}),
            {.batch_size = 3, .verbose = 0, .callbacks = {probe}, .shuffle = false});
  CHECK(seen_during_batch == std::vector<double>{0.0, 2.0});
  CHECK(bn->get_weights()[2].item() == Approx(20.0));
  // A plain training call outside fit updates at once.
  (*bn)(test::f32({4, 6}, {2, 1}), true);
  CHECK(bn->get_weights()[2].item() == Approx(5.0));
}

namespace {

// Input(2) → Dense(3, softmax), sparse labels, SGD: a model whose labels fit can reject.
std::shared_ptr<Sequential> three_class_model() {
  auto model = std::make_shared<Sequential>(std::vector<layers::LayerPtr>{
      layers::Input({.shape = {2}}), layers::Dense({.units = 3, .activation = "softmax"})});
  model->compile({.optimizer = sgd(0.1), .loss = "sparse_categorical_crossentropy"});
  return model;
}

}  // namespace

TEST_CASE("a bad label in a later batch is refused before the first step, naming its row in the data set", "[fit]") {
  set_random_seed(4);
  auto model = three_class_model();
  const auto before = test::weight_bytes(*model);
  Tensor x = random::normal({8, 2}, 0, 1, 3);
  Tensor y = test::f32({0, 1, 2, 0, 1, 2, 7, 0}, {8});  // row 6 is outside [0, 3)
  for (bool shuffle : {false, true}) {
    INFO("shuffle " << shuffle);
    KEEL_CHECK_THROWS(model->fit(x, y, {.batch_size = 2, .verbose = 0, .shuffle = shuffle, .seed = 1}), IndexError,
                      Contains("fit, y") && Contains("label 7 in row 6 is outside [0, 3)"));
    CHECK(test::weight_bytes(*model) == before);
    CHECK(model->optimizer()->iterations() == 0);
  }
  // Rows 6 and 7 are the validation split: the row is still counted in the whole data set.
  KEEL_CHECK_THROWS(model->fit(x, y, {.batch_size = 2, .verbose = 0, .validation_split = 0.25}), IndexError,
                    Contains("label 7 in row 6 is outside [0, 3)"));
  CHECK(test::weight_bytes(*model) == before);
}

TEST_CASE("validation_data is checked before the first step: its shape and its labels", "[fit]") {
  set_random_seed(5);
  auto model = three_class_model();
  const auto before = test::weight_bytes(*model);
  Tensor x = random::normal({8, 2}, 0, 1, 3);
  Tensor y = test::f32({0, 1, 2, 0, 1, 2, 1, 0}, {8});
  auto fit_with = [&](Tensor x_val, Tensor y_val) {
    model->fit(x, y, {.batch_size = 2, .verbose = 0, .validation_data = std::pair{x_val, y_val}});
  };
  KEEL_CHECK_THROWS(fit_with(random::normal({4, 3}, 0, 1, 4), test::f32({0, 1, 2, 0}, {4})), ShapeError,
                    Contains("fit, validation_data"));
  KEEL_CHECK_THROWS(fit_with(random::normal({4, 2}, 0, 1, 4), test::f32({0, 1, -1, 0}, {4})), IndexError,
                    Contains("fit, validation_data") && Contains("label -1 in row 2"));
  KEEL_CHECK_THROWS(fit_with(random::normal({4, 2}, 0, 1, 4), test::f32({0, 1, 2, 0, 1, 2, 0, 1}, {4, 2})),
                    ShapeError, Contains("fit, validation_data"));
  CHECK(test::weight_bytes(*model) == before);
  CHECK(model->optimizer()->iterations() == 0);
}

TEST_CASE("a one-epoch fit prints no 'Epoch 1/1' line, as Keras's ProgbarLogger (epochs > 1 only)", "[fit]") {
  FrozenLinear f;
  test::CoutCapture out;
  f.model->fit(f.x, f.y, {.batch_size = 5, .epochs = 1, .verbose = 2});
  CHECK_THAT(out.text(), !Contains("Epoch") && Contains("1/1 - "));
}
