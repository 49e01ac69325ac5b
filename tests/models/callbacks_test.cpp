#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <sstream>

#include "keel/core/error.h"
#include "keel/layers/dense.h"
#include "keel/layers/input.h"
#include "keel/models/sequential.h"
#include "keel/optim/sgd.h"
#include "models/model_test_support.h"
#include "support/make_tensor.h"
#include "support/temp_dir.h"
#include "support/throws.h"

using Catch::Matchers::Contains;
using namespace keel;
using namespace keel::callbacks;

namespace {

// A built, compiled Dense(1 → 1) whose kernel is set to the epoch number before each epoch ends,
// so restored or saved weights show which epoch they come from.
struct Driven {
  std::shared_ptr<Sequential> model = std::make_shared<Sequential>(
      std::vector<layers::LayerPtr>{layers::Input({.shape = {1}}), layers::Dense({.units = 1})});
  Driven() {
    model->build_from_declared_input();
    model->compile({.optimizer = std::make_shared<optim::SGD>(optim::SGDOptions{.learning_rate = 1.0}), .loss = "mse"});
  }
  // Runs the callback over the monitored sequence; returns the epoch after which stop_training was
  // first set (−1: never). Stops feeding values once stopped, as fit does.
  std::int64_t drive(Callback& cb, const std::string& monitor, const std::vector<double>& values) {
    cb.set_model(model.get());
    model->stop_training = false;
    cb.on_train_begin({});
    std::int64_t stopped = -1;
    for (std::size_t e = 0; e < values.size(); ++e) {
      model->set_weights({test::f32({static_cast<double>(e)}, {1, 1}), test::f32({0}, {1})});
      cb.on_epoch_end(static_cast<std::int64_t>(e), {{monitor, values[e]}, {"other", 0.0}});
      if (model->stop_training) {
        stopped = static_cast<std::int64_t>(e);
        break;
      }
    }
    cb.on_train_end({});
    return stopped;
  }
  double kernel() const { return model->get_weights()[0].item(); }
};

std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("EarlyStopping patience and min_delta", "[callbacks]") {
  // e0 best 1.0; e1 0.95 is within min_delta 0.1 (wait 1); e2 0.85 improves (wait 0); e3 0.86 (wait 1);
  // e4 0.80 is not 0.1 below 0.85 (wait 2 = patience) → stop after epoch 4.
  Driven d;
  EarlyStopping es({.min_delta = 0.1, .patience = 2});
  CHECK(d.drive(es, "val_loss", {1.0, 0.95, 0.85, 0.86, 0.80, 0.1}) == 4);
  CHECK(es.stopped_epoch() == 4);
  // Patience 0 stops at the first epoch without improvement, never after epoch 0.
  EarlyStopping eager;
  CHECK(d.drive(eager, "val_loss", {1.0, 0.9, 0.9, 0.1}) == 2);
  CHECK(d.drive(eager, "val_loss", {1.0}) == -1);
}

TEST_CASE("EarlyStopping mode auto maximizes accuracies, and a missing monitor changes nothing", "[callbacks]") {
  Driven d;
  EarlyStopping acc({.monitor = "val_accuracy"});
  CHECK(d.drive(acc, "val_accuracy", {0.5, 0.6, 0.55}) == 2);
  EarlyStopping explicit_min({.monitor = "val_accuracy", .mode = Mode::min});
  CHECK(d.drive(explicit_min, "val_accuracy", {0.5, 0.6}) == 1);
  EarlyStopping absent({.monitor = "val_auc"});
  CHECK(d.drive(absent, "val_loss", {1, 2, 3}) == -1);
}

TEST_CASE("EarlyStopping baseline: improvements that miss it keep training, then patience runs on", "[callbacks]") {
  // Keras 3: wait counts every epoch and only an improvement beating the baseline resets it, but an
  // improving epoch never stops. e0..e2 improve (wait 1, 2, 3, no stop); e3 does not: wait 4 ≥ 1 → stop.
  Driven d;
  EarlyStopping es({.patience = 1, .baseline = 0.5});
  CHECK(d.drive(es, "val_loss", {1.0, 0.9, 0.8, 0.85}) == 3);
  EarlyStopping beaten({.patience = 1, .baseline = 0.5});
  CHECK(d.drive(beaten, "val_loss", {0.4, 0.3, 0.35, 0.36}) == 2);  // wait reset at e0 and e1, then 1 ≥ 1
}

TEST_CASE("EarlyStopping start_from_epoch ignores the first epochs", "[callbacks]") {
  Driven d;
  EarlyStopping late({.start_from_epoch = 2});
  CHECK(d.drive(late, "val_loss", {5, 6, 7, 8}) == 3);
  EarlyStopping early;
  CHECK(d.drive(early, "val_loss", {5, 6, 7, 8}) == 1);
}

TEST_CASE("EarlyStopping restore_best_weights restores the best epoch's weights at train end", "[callbacks]") {
  Driven d;
  EarlyStopping es({.patience = 2, .restore_best_weights = true});
  CHECK(d.drive(es, "val_loss", {1.0, 0.5, 0.7, 0.8}) == 3);
  CHECK(d.kernel() == 1.0);  // epoch 1's weights
  EarlyStopping never_stops({.patience = 5, .restore_best_weights = true});
  CHECK(d.drive(never_stops, "val_loss", {1.0, 0.5, 0.2, 0.3}) == -1);
  CHECK(d.kernel() == 2.0);  // restored at train end even without stopping (Keras 3)
}

TEST_CASE("EarlyStopping inside fit ends training", "[callbacks][fit]") {
  Driven d;
  auto es = std::make_shared<EarlyStopping>(EarlyStoppingOptions{.monitor = "constant", .patience = 1});
  // The monitored value never improves after epoch 0: wait 1 at e1 → stop after epoch 1.
  struct Constant : Callback {
    std::shared_ptr<EarlyStopping> inner;
    void on_train_begin(const Logs& l) override { inner->set_model(model()), inner->on_train_begin(l); }
    void on_epoch_end(std::int64_t e, const Logs& l) override {
      Logs with = l;
      with["constant"] = 1.0;
      inner->on_epoch_end(e, with);
    }
  };
  auto wrapper = std::make_shared<Constant>();
  wrapper->inner = es;
  History h = d.model->fit(test::f32({1, 2}, {2, 1}), test::f32({1, 2}, {2, 1}),
                           {.epochs = 10, .verbose = 0, .callbacks = {wrapper}});
  CHECK(h.epoch == std::vector<std::int64_t>{0, 1});
}

TEST_CASE("ModelCheckpoint numbers epochs from 1 and saves the best only when asked", "[callbacks][saving]") {
  test::TempDir dir("checkpoint");
  Driven d;
  ModelCheckpoint every({.filepath = (dir / "all_{epoch:02d}.keel").string()});
  d.drive(every, "val_loss", {1.0, 2.0});
  CHECK(std::filesystem::exists(dir / "all_01.keel"));
  CHECK(std::filesystem::exists(dir / "all_02.keel"));
  CHECK(load_model(dir / "all_02.keel")->get_weights()[0].item() == 1.0);

  ModelCheckpoint best({.filepath = (dir / "best_{epoch}.keel").string(), .save_best_only = true});
  d.drive(best, "val_loss", {1.0, 0.8, 0.9, 0.7});
  CHECK(std::filesystem::exists(dir / "best_1.keel"));
  CHECK(std::filesystem::exists(dir / "best_2.keel"));
  CHECK_FALSE(std::filesystem::exists(dir / "best_3.keel"));
  CHECK(std::filesystem::exists(dir / "best_4.keel"));
  CHECK(load_model(dir / "best_4.keel")->get_weights()[0].item() == 3.0);

  ModelCheckpoint weights({.filepath = (dir / "w.keel").string(), .save_weights_only = true});
  d.drive(weights, "val_loss", {1.0, 2.0, 3.0});
  KEEL_CHECK_THROWS(load_model(dir / "w.keel"), IOError, Contains("weights only"));
  Driven fresh;
  fresh.model->load_weights(dir / "w.keel");
  CHECK(fresh.kernel() == 2.0);
  CHECK(format_epoch_path("m{epoch:03d}-{epoch}.keel", 7) == "m007-7.keel");
}

TEST_CASE("ModelCheckpoint refuses an epoch placeholder it cannot format when it is made", "[callbacks]") {
  for (const char* placeholder : {"{epoch:-3d}", "{epoch:3xd}", "{epoch: 3d}", "{epoch:+3d}", "{epoch:d}",
                                  "{epoch:99999999999d}", "{epoch:256d}", "{epochs}", "{epoch:.2f}"}) {
    const std::string filepath = std::string("ckpt_") + placeholder + ".keel";
    INFO(filepath);
    KEEL_CHECK_THROWS(ModelCheckpoint({.filepath = filepath}), ValueError,
                      Contains("ModelCheckpoint") && Contains(filepath) && Contains(placeholder));
  }
  for (const char* filepath : {"ckpt_{epoch}.keel", "ckpt_{epoch:02d}.keel", "ckpt_{epoch:255d}-{epoch:1d}.keel"}) {
    INFO(filepath);
    CHECK_NOTHROW(ModelCheckpoint({.filepath = filepath}));
  }
}

TEST_CASE("ReduceLROnPlateau with factor, patience, cooldown and min_lr", "[callbacks]") {
  // lr 1.0, patience 2, cooldown 1, factor 0.5, min_lr 0.3, a flat monitor:
  // e0 best; e1 wait 1; e2 wait 2 → 0.5, cooldown 1; e3 cooldown ends (counter 0), wait 1;
  // e4 wait 2 → max(0.25, 0.3) = 0.3; e5 wait 1; e6 on: lr is not above min_lr, nothing changes.
  Driven d;
  ReduceLROnPlateau cb({.factor = 0.5, .patience = 2, .cooldown = 1, .min_lr = 0.3});
  cb.set_model(d.model.get());
  cb.on_train_begin({});
  std::vector<double> lrs;
  for (int e = 0; e < 8; ++e) {
    cb.on_epoch_end(e, {{"val_loss", 1.0}});
    lrs.push_back(d.model->optimizer()->learning_rate());
  }
  CHECK(lrs == std::vector<double>{1.0, 1.0, 0.5, 0.5, 0.3, 0.3, 0.3, 0.3});
  // An improvement larger than min_delta resets the wait; a smaller one does not.
  Driven d2;
  ReduceLROnPlateau cb2({.factor = 0.1, .patience = 2, .min_delta = 0.01});
  cb2.set_model(d2.model.get());
  cb2.on_train_begin({});
  for (double v : {1.0, 0.995, 0.98, 0.975}) cb2.on_epoch_end(0, {{"val_loss", v}});
  CHECK(d2.model->optimizer()->learning_rate() == 1.0);  // e1 wait 1, e2 improved, e3 wait 1
  cb2.on_epoch_end(0, {{"val_loss", 0.979}});
  CHECK(d2.model->optimizer()->learning_rate() == Approx(0.1));
  CHECK_THROWS_AS(ReduceLROnPlateau({.factor = 1.0}), ValueError);
}

TEST_CASE("LearningRateScheduler sets the rate before each epoch", "[callbacks][fit]") {
  Driven d;
  std::vector<std::pair<std::int64_t, double>> seen;
  auto scheduler = std::make_shared<LearningRateScheduler>(
      [](std::int64_t epoch, double lr) { return epoch < 2 ? 0.1 : lr * 0.5; });
  auto probe = std::make_shared<LambdaCallback>(LambdaCallbackOptions{
      .on_epoch_begin = [&](std::int64_t e, const Logs&) { seen.emplace_back(e, d.model->optimizer()->learning_rate()); }});
  d.model->fit(test::f32({1}, {1, 1}), test::f32({1}, {1, 1}), {.epochs = 4, .verbose = 0, .callbacks = {scheduler, probe}});
  using P = std::pair<std::int64_t, double>;
  CHECK(seen == std::vector<P>{{0, 0.1}, {1, 0.1}, {2, 0.05}, {3, 0.025}});
  auto bad = std::make_shared<LearningRateScheduler>([](std::int64_t, double) { return std::nan(""); });
  CHECK_THROWS_AS(d.model->fit(test::f32({1}, {1, 1}), test::f32({1}, {1, 1}), {.verbose = 0, .callbacks = {bad}}),
                  ValueError);
}

TEST_CASE("CSVLogger writes the epoch from 0 then the sorted keys, and appends when asked", "[callbacks][fit]") {
  test::TempDir dir("csv");
  Driven d;
  d.model->compile({.optimizer = std::make_shared<optim::SGD>(optim::SGDOptions{.learning_rate = 1e-30}),
                    .loss = "mse", .metrics = {"mae"}});
  d.model->set_weights({test::f32({1}, {1, 1}), test::f32({0}, {1})});
  Tensor x = test::f32({1, 2}, {2, 1}), y = test::f32({2, 2}, {2, 1});  // errors −1, 0; validation x=3 → error 1
  auto csv = std::make_shared<CSVLogger>(dir / "log.csv");
  d.model->fit(x, y, {.epochs = 2, .verbose = 0, .callbacks = {csv},
                      .validation_data = std::pair{test::f32({3}, {1, 1}), test::f32({2}, {1, 1})}});
  // Keras's columns: epoch from 0, then the logs' keys sorted.
  CHECK(read_text(dir / "log.csv") == "epoch,loss,mae,val_loss,val_mae\n0,0.5,0.5,1,1\n1,0.5,0.5,1,1\n");
  auto appending = std::make_shared<CSVLogger>(dir / "log.csv", CSVLoggerOptions{.separator = ";", .append = true});
  d.model->fit(x, y, {.epochs = 1, .verbose = 0, .callbacks = {appending},
                      .validation_data = std::pair{test::f32({3}, {1, 1}), test::f32({2}, {1, 1})}});
  CHECK(read_text(dir / "log.csv") ==
        "epoch,loss,mae,val_loss,val_mae\n0,0.5,0.5,1,1\n1,0.5,0.5,1,1\n0;0.5;0.5;1;1\n");
}

TEST_CASE("ReduceLROnPlateau and LearningRateScheduler add the epoch's learning_rate to the logs and history",
          "[callbacks][fit]") {
  Driven d;
  Tensor x = test::f32({1, 2}, {2, 1}), y = test::f32({2, 2}, {2, 1});
  auto scheduler = std::make_shared<LearningRateScheduler>([](std::int64_t epoch, double) { return 0.1 / (epoch + 1); });
  History h = d.model->fit(x, y, {.epochs = 3, .verbose = 0, .callbacks = {scheduler}});
  REQUIRE(h.history.count("learning_rate") == 1);
  CHECK_THAT(h.history["learning_rate"], Catch::Matchers::Approx(std::vector<double>{0.1, 0.05, 0.1 / 3}));

  // lr 1e-30 leaves the weights, so the loss stays flat: epoch 0 is the best, epoch 1 waits and halves
  // the rate after logging the rate it trained with (Keras logs before reducing).
  d.model->compile({.optimizer = std::make_shared<optim::SGD>(optim::SGDOptions{.learning_rate = 1e-30}), .loss = "mse"});
  auto plateau = std::make_shared<ReduceLROnPlateau>(ReduceLROnPlateauOptions{.monitor = "loss", .factor = 0.5, .patience = 1});
  History p = d.model->fit(x, y, {.epochs = 3, .verbose = 0, .callbacks = {plateau}});
  REQUIRE(p.history.count("learning_rate") == 1);
  CHECK_THAT(p.history["learning_rate"], Catch::Matchers::Approx(std::vector<double>{1e-30, 1e-30, 5e-31}));
  CHECK(d.model->fit(x, y, {.verbose = 0}).history.count("learning_rate") == 0);
}

TEST_CASE("LambdaCallback hooks run with fit's epoch and batch numbers", "[callbacks][fit]") {
  Driven d;
  std::vector<std::string> events;
  auto cb = std::make_shared<LambdaCallback>(LambdaCallbackOptions{
      .on_epoch_begin = [&](std::int64_t e, const Logs&) { events.push_back("eb" + std::to_string(e)); },
      .on_epoch_end = [&](std::int64_t e, const Logs& l) { events.push_back("ee" + std::to_string(e) + (l.count("loss") ? "+" : "")); },
      .on_train_batch_begin = [&](std::int64_t b, const Logs&) { events.push_back("bb" + std::to_string(b)); },
      .on_train_batch_end = [&](std::int64_t b, const Logs&) { events.push_back("be" + std::to_string(b)); },
      .on_train_begin = [&](const Logs&) { events.push_back("tb"); },
      .on_train_end = [&](const Logs&) { events.push_back("te"); }});
  d.model->fit(test::f32({1, 2, 3}, {3, 1}), test::f32({1, 2, 3}, {3, 1}),
               {.batch_size = 2, .epochs = 2, .verbose = 0, .callbacks = {cb}});
  CHECK(events == std::vector<std::string>{"tb", "eb0", "bb0", "be0", "bb1", "be1", "ee0+", "eb1", "bb0", "be0", "bb1",
                                           "be1", "ee1+", "te"});
}

TEST_CASE("a NaN monitor is never an improvement: ModelCheckpoint, EarlyStopping, ReduceLROnPlateau", "[callbacks]") {
  const double nan = std::nan("");
  test::TempDir dir("nan_monitor");
  Driven d;
  ModelCheckpoint best({.filepath = (dir / "best_{epoch}.keel").string(), .save_best_only = true});
  d.drive(best, "val_loss", {nan, 0.5, nan});
  CHECK_FALSE(std::filesystem::exists(dir / "best_1.keel"));
  CHECK(std::filesystem::exists(dir / "best_2.keel"));
  CHECK_FALSE(std::filesystem::exists(dir / "best_3.keel"));

  // Keras starts from best = inf: NaN is a wait, so patience 1 stops after the second NaN epoch.
  EarlyStopping stopping({.patience = 1});
  CHECK(d.drive(stopping, "val_loss", {nan, nan, 0.1}) == 1);

  // Patience 1: the NaN epoch is a wait and halves the rate; the finite value after it is the first best.
  ReduceLROnPlateau plateau({.factor = 0.5, .patience = 1});
  plateau.set_model(d.model.get());
  plateau.on_train_begin({});
  std::vector<double> lrs;
  for (double v : {nan, 1.0, 0.5}) {
    plateau.on_epoch_end(0, {{"val_loss", v}});
    lrs.push_back(d.model->optimizer()->learning_rate());
  }
  CHECK(lrs == std::vector<double>{0.5, 0.5, 0.5});
}
