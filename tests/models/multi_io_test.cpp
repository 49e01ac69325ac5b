// Several inputs and outputs: fit, evaluate, predict and the *_on_batch calls on lists and name-keyed
// maps, per-output losses, loss_weights and metrics with Keras's names, and the errors a mismatch gets.
//
// The model: inputs a [2] and b [1]; reg = Dense(1, no bias)(Concatenate(a, b)) with kernel [1, 2, 3];
// second = Dense(1, no bias)(a) with kernel [0.5, -1]. The data (two samples):
//   a = [[1, 0], [0, 1]], b = [[1], [2]], y_reg = [[4], [7]], y_second = [[1], [0]].
// By hand: reg predicts [1,0,1]·[1,2,3] = 4 and [0,1,2]·[1,2,3] = 8 (errors 0, 1; mse 0.5, mae 0.5);
// second predicts 0.5 and −1 (errors −0.5, −1; mse (0.25 + 1)/2 = 0.625, mae 0.75).
#include <catch2/catch.hpp>

#include <algorithm>

#include "keel/autograd/ops.h"
#include "keel/core/error.h"
#include "keel/core/random.h"
#include "keel/layers/concatenate.h"
#include "keel/layers/conv2d.h"
#include "keel/layers/flatten.h"
#include "keel/layers/dense.h"
#include "keel/models/functional.h"
#include "keel/models/saving.h"
#include "keel/optim/sgd.h"
#include "model_test_support.h"
#include "support/floatx.h"
#include "support/make_tensor.h"
#include "support/temp_dir.h"
#include "support/throws.h"

using Catch::Matchers::Contains;
using namespace keel;

namespace {

layers::Ref<Functional> two_by_two() {
  test::Floatx floatx(DType::float64);
  auto a = keel::Input({.shape = {2}, .name = "a"});
  auto b = keel::Input({.shape = {1}, .name = "b"});
  auto joined = layers::Concatenate({}, "joined")({a, b});
  auto reg = layers::Dense({.units = 1, .use_bias = false}, "reg")(joined);
  auto second = layers::Dense({.units = 1, .use_bias = false}, "second")(a);
  auto model = Model::functional({a, b}, {reg, second}, "two_by_two");
  model->get_layer("reg")->set_weights({test::f64({1, 2, 3}, {3, 1})});
  model->get_layer("second")->set_weights({test::f64({0.5, -1}, {2, 1})});
  return model;
}

std::shared_ptr<optim::SGD> sgd() { return std::make_shared<optim::SGD>(optim::SGD::Options{.learning_rate = 0.1}); }

Tensor a() { return test::f64({1, 0, 0, 1}, {2, 2}); }
Tensor b() { return test::f64({1, 2}, {2, 1}); }
Tensor y_reg() { return test::f64({4, 7}, {2, 1}); }
Tensor y_second() { return test::f64({1, 0}, {2, 1}); }

std::vector<double> kernel(const Functional& model, const std::string& layer) {
  return model.get_layer(layer)->get_weights()[0].to_vector();
}

void check_values(const std::vector<double>& got, const std::vector<double>& want) {
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i) CHECK(got[i] == Approx(want[i]).epsilon(1e-12));
}

// One SGD step (lr 0.1) on loss = 1·mse_reg + 0.5·mse_second, by hand:
//   ∂mse_reg/∂w_reg = (2/2)·Σ e_i h_i = 1·[0, 1, 2] → w_reg = [1, 1.9, 2.8];
//   ∂mse_second/∂w_second = (2/2)·(−0.5·[1, 0] − 1·[0, 1]) = [−0.5, −1], times 0.5 → w_second = [0.525, −0.95].
void check_one_step(const Functional& model) {
  check_values(kernel(model, "reg"), {1, 1.9, 2.8});
  check_values(kernel(model, "second"), {0.525, -0.95});
}

}  // namespace

TEST_CASE("multi-io: train_on_batch sums loss_weight times each output's loss and steps both outputs", "[multi_io]") {
  auto model = two_by_two();
  model->compile({.optimizer = sgd(), .loss = {"mse", "mse"}, .loss_weights = {1.0, 0.5}, .metrics = {"mae", "mae"}});
  CHECK(model->metrics_names() == std::vector<std::string>{"loss", "reg_loss", "second_loss", "reg_mae", "second_mae"});
  // 1·0.5 + 0.5·0.625 = 0.8125; the per-output losses are unweighted.
  check_values(model->train_on_batch({a(), b()}, {y_reg(), y_second()}), {0.8125, 0.5, 0.625, 0.5, 0.75});
  check_one_step(*model);
}

TEST_CASE("multi-io: fit's history has Keras's per-output keys, and validation the same with val_", "[multi_io]") {
  auto model = two_by_two();
  model->compile({.optimizer = sgd(), .loss = {"mse", "mse"}, .loss_weights = {1.0, 0.5}, .metrics = {"mae", "mae"}});
  History h = model->fit({a(), b()}, {y_reg(), y_second()},
                         {.batch_size = 2, .verbose = 0, .validation_data = std::pair{ModelData{a(), b()},
                                                                                       ModelData{y_reg(), y_second()}}});
  std::vector<std::string> keys;
  for (const auto& [key, values] : h.history) keys.push_back(key);
  CHECK(keys == std::vector<std::string>{"loss", "reg_loss", "reg_mae", "second_loss", "second_mae", "val_loss",
                                         "val_reg_loss", "val_reg_mae", "val_second_loss", "val_second_mae"});
  check_values({h.history["loss"][0], h.history["reg_loss"][0], h.history["second_loss"][0], h.history["reg_mae"][0],
                h.history["second_mae"][0]},
               {0.8125, 0.5, 0.625, 0.5, 0.75});
  check_one_step(*model);
  // After the step: reg predicts 3.8 and 7.5 (errors −0.2, 0.5: mse 0.145, mae 0.35); second predicts
  // 0.525 and −0.95 (errors −0.475, −0.95: mse (0.225625 + 0.9025)/2 = 0.5640625, mae 0.7125).
  check_values({h.history["val_loss"][0], h.history["val_reg_loss"][0], h.history["val_second_loss"][0],
                h.history["val_reg_mae"][0], h.history["val_second_mae"][0]},
               {0.145 + 0.5 * 0.5640625, 0.145, 0.5640625, 0.35, 0.7125});
}

TEST_CASE("multi-io: validation_split takes the last rows of every input and target", "[multi_io]") {
  auto model = two_by_two();
  model->compile({.optimizer = sgd(), .loss = {"mse", "mse"}, .loss_weights = {1.0, 0.5}});
  // Rows 3 and 4 repeat rows 1 and 2 with other targets: a split of 0.5 trains on the first two only.
  auto twice = [](const Tensor& first, const Tensor& second) { return ops::concat({first, second}, 0); };
  History h = model->fit({twice(a(), a()), twice(b(), b())},
                         {twice(y_reg(), test::f64({5, 8}, {2, 1})), twice(y_second(), test::f64({1, 0}, {2, 1}))},
                         {.batch_size = 4, .verbose = 0, .validation_split = 0.5, .shuffle = true});
  check_one_step(*model);
  CHECK(h.history["loss"][0] == Approx(0.8125));
  // Validation on the last rows after the step: reg errors 3.8 − 5 = −1.2 and 7.5 − 8 = −0.5, mse 0.845.
  CHECK(h.history["val_reg_loss"][0] == Approx(0.845));
  CHECK(h.history["val_second_loss"][0] == Approx(0.5640625));
}

TEST_CASE("multi-io: maps keyed by input and output names give what lists give", "[multi_io]") {
  auto by_list = two_by_two(), by_map = two_by_two();
  by_list->compile({.optimizer = sgd(), .loss = {"mse", "mae"}, .loss_weights = {1.0, 0.5}, .metrics = {"mae", "mse"}});
  by_map->compile({.optimizer = sgd(),
                   .loss = {{"second", "mae"}, {"reg", "mse"}},
                   .loss_weights = {{"second", 0.5}, {"reg", 1.0}},
                   .metrics = {{"second", {"mse"}}, {"reg", {"mae"}}}});
  CHECK(by_map->get_compile_config() == by_list->get_compile_config());
  History h_list = by_list->fit({a(), b()}, {y_reg(), y_second()}, {.batch_size = 1, .verbose = 0, .shuffle = false});
  History h_map = by_map->fit({{"b", b()}, {"a", a()}}, {{"second", y_second()}, {"reg", y_reg()}},
                              {.batch_size = 1, .verbose = 0, .shuffle = false});
  CHECK(h_map.history == h_list.history);
  CHECK(kernel(*by_map, "reg") == kernel(*by_list, "reg"));
  CHECK(kernel(*by_map, "second") == kernel(*by_list, "second"));
  CHECK(by_map->evaluate({{"a", a()}, {"b", b()}}, {{"reg", y_reg()}, {"second", y_second()}}) ==
        by_list->evaluate({a(), b()}, {y_reg(), y_second()}));
}

TEST_CASE("multi-io: one loss applies to every output and a metrics map may skip an output", "[multi_io]") {
  auto model = two_by_two();
  model->compile({.optimizer = sgd(), .loss = "mse", .metrics = {{"second", {"mae", "mse"}}}});
  CHECK(model->metrics_names() ==
        std::vector<std::string>{"loss", "reg_loss", "second_loss", "second_mae", "second_mse"});
  // No loss_weights: 0.5 + 0.625.
  check_values(model->test_on_batch({a(), b()}, {y_reg(), y_second()}), {1.125, 0.5, 0.625, 0.75, 0.625});
  check_values(kernel(*model, "reg"), {1, 2, 3});  // test_on_batch does not train
}

TEST_CASE("multi-io: evaluate is in metrics_names order and sample_weight weighs every output", "[multi_io]") {
  auto model = two_by_two();
  model->compile({.optimizer = sgd(),
                  .loss = {"mse", "mse"},
                  .loss_weights = {1.0, 0.5},
                  .metrics = std::vector<std::vector<MetricSpec>>{{"mse", "mae"}, {"mae"}}});
  // Keras 3: the per-output losses, then the metrics sorted by name.
  CHECK(model->metrics_names() ==
        std::vector<std::string>{"loss", "reg_loss", "second_loss", "reg_mae", "reg_mse", "second_mae"});
  // Weights [1, 3] over 2 samples. Losses sum over the batch size: reg (1·0 + 3·1)/2 = 1.5, second
  // (1·0.25 + 3·1)/2 = 1.625. Metrics are weighted means: reg mae and mse (1·0 + 3·1)/(1 + 3) = 0.75,
  // second mae (1·0.5 + 3·1)/4 = 0.875.
  std::vector<double> result =
      model->evaluate({a(), b()}, {y_reg(), y_second()}, {.batch_size = 1, .sample_weight = test::f64({1, 3}, {2})});
  check_values(result, {1.5 + 0.5 * 1.625, 1.5, 1.625, 3.0 / 4.0, 3.0 / 4.0, 0.875});
}

TEST_CASE("multi-io: predict_all returns one tensor per output, predict needs one output", "[multi_io]") {
  auto model = two_by_two();
  std::vector<Tensor> out = model->predict_all({{"a", a()}, {"b", b()}}, {.batch_size = 1});
  REQUIRE(out.size() == 2);
  CHECK(out[0].to_vector() == std::vector<double>{4, 8});
  CHECK(out[1].to_vector() == std::vector<double>{0.5, -1});
  std::vector<Tensor> batch = model->predict_all_on_batch({a(), b()});
  CHECK(batch[1].to_vector() == std::vector<double>{0.5, -1});
  KEEL_CHECK_THROWS(model->predict({a(), b()}), UsageError, Contains("has 2 outputs; call predict_all()"));
  KEEL_CHECK_THROWS(model->predict_on_batch({a(), b()}), UsageError, Contains("predict_all_on_batch()"));
}

TEST_CASE("multi-io: a one-output model with a list of one loss trains like a single loss", "[multi_io]") {
  auto make = [] {
    test::Floatx floatx(DType::float64);
    auto x = keel::Input({.shape = {2}, .name = "x"});
    auto model = Model::functional(x, layers::Dense({.units = 1, .use_bias = false}, "out")(x), "one");
    model->get_layer("out")->set_weights({test::f64({0.5, -1}, {2, 1})});
    return model;
  };
  auto single = make(), listed = make();
  single->compile({.optimizer = sgd(), .loss = "mse", .metrics = {"mae"}});
  listed->compile({.optimizer = sgd(), .loss = {"mse"}, .metrics = {"mae"}});
  CHECK(listed->metrics_names() == std::vector<std::string>{"loss", "mae"});
  History h1 = single->fit(a(), y_second(), {.batch_size = 2, .verbose = 0});
  History h2 = listed->fit(std::vector<Tensor>{a()}, {{"out", y_second()}}, {.batch_size = 2, .verbose = 0});
  CHECK(h2.history == h1.history);
  CHECK(h1.history["loss"][0] == Approx(0.625));
  CHECK(kernel(*listed, "out") == kernel(*single, "out"));
}

TEST_CASE("multi-io: the progress bar line shows every per-output key", "[multi_io]") {
  auto model = two_by_two();
  model->compile({.optimizer = sgd(), .loss = {"mse", "mse"}, .loss_weights = {1.0, 0.5}, .metrics = {"mae", "mae"}});
  test::CoutCapture out;
  model->fit({a(), b()}, {y_reg(), y_second()}, {.batch_size = 2, .verbose = 2});
  CHECK_THAT(out.text(), Contains(" - loss: 0.8125 - reg_loss: 0.5000 - reg_mae: 0.5000 - second_loss: 0.6250 - "
                                  "second_mae: 0.7500"));
}

TEST_CASE("multi-io: compiled per-output losses and loss_weights survive save and load_model", "[multi_io]") {
  test::TempDir dir("multi_io");
  auto model = two_by_two();
  model->compile({.optimizer = sgd(), .loss = {"mse", "mae"}, .loss_weights = {1.0, 0.5}, .metrics = {"mae", "mse"}});
  model->save(dir.path() / "two.keel");
  auto loaded = load_model(dir.path() / "two.keel");
  CHECK(loaded->get_compile_config() == model->get_compile_config());
  CHECK(loaded->metrics_names() == model->metrics_names());
  // reg mse 0.5; second mae 0.75 weighted 0.5.
  check_values(loaded->evaluate({a(), b()}, {y_reg(), y_second()}), model->evaluate({a(), b()}, {y_reg(), y_second()}));
  CHECK(loaded->evaluate({a(), b()}, {y_reg(), y_second()})[0] == Approx(0.5 + 0.5 * 0.75));
}

TEST_CASE("multi-io: a wrong count, an unknown or missing name, or differing sample counts is a ValueError",
          "[multi_io]") {
  auto model = two_by_two();
  model->compile({.optimizer = sgd(), .loss = {"mse", "mse"}});
  const auto before = model->get_weights();
  KEEL_CHECK_THROWS(model->fit(a(), {y_reg(), y_second()}, {.verbose = 0}), ValueError,
                    Contains("fit: x has length 1 but the model has 2 ('a', 'b')"));
  KEEL_CHECK_THROWS(model->fit({a(), b()}, {y_reg()}, {.verbose = 0}), ValueError,
                    Contains("fit: y has length 1 but the model has 2 ('reg', 'second')"));
  KEEL_CHECK_THROWS(model->fit({{"a", a()}, {"c", b()}}, {y_reg(), y_second()}, {.verbose = 0}), ValueError,
                    Contains("fit: x has the key 'c', which is none of the model's ('a', 'b')"));
  KEEL_CHECK_THROWS(model->evaluate({a(), b()}, {{"reg", y_reg()}}), ValueError,
                    Contains("evaluate: y has no entry for 'second'"));
  KEEL_CHECK_THROWS(model->fit({a(), test::f64({1, 2, 3}, {3, 1})}, {y_reg(), y_second()}, {.verbose = 0}), ValueError,
                    Contains("fit: x 'b' has 3 samples but x 'a' has 2"));
  KEEL_CHECK_THROWS(model->train_on_batch({a(), b()}, {y_reg(), test::f64({1}, {1, 1})}), ValueError,
                    Contains("train_on_batch: x 'a' has 2 samples but y 'second' has 1"));
  KEEL_CHECK_THROWS(
      model->fit({a(), b()}, {y_reg(), y_second()},
                 {.verbose = 0, .validation_data = std::pair{ModelData{a()}, ModelData{y_reg(), y_second()}}}),
      ValueError, Contains("fit (validation_data): x has length 1"));
  KEEL_CHECK_THROWS(model->fit({a(), b()}, {y_reg(), y_second()}, {.verbose = 0, .class_weight = {{0, 2.0}}}),
                    ValueError, Contains("class_weight is only supported for a model with one output"));
  KEEL_CHECK_THROWS(model->predict_all({{"b", b()}}), ValueError, Contains("predict: x has no entry for 'a'"));
  KEEL_CHECK_THROWS(model->predict_all(a()), ValueError, Contains("predict: x has length 1"));
  const auto after = model->get_weights();
  for (std::size_t i = 0; i < before.size(); ++i) CHECK(after[i].to_vector() == before[i].to_vector());
}

TEST_CASE("multi-io: compile refuses losses, loss_weights and metrics that do not fit the outputs", "[multi_io]") {
  auto model = two_by_two();
  KEEL_CHECK_THROWS(model->compile({.loss = {"mse"}}), ValueError,
                    Contains("compile: loss has length 1 but the model has 2 ('reg', 'second')"));
  KEEL_CHECK_THROWS(model->compile({.loss = {{"reg", "mse"}, {"other", "mse"}}}), ValueError,
                    Contains("compile: loss has the key 'other'"));
  KEEL_CHECK_THROWS(model->compile({.loss = {{"reg", "mse"}}}), ValueError,
                    Contains("compile: loss has no entry for 'second'"));
  KEEL_CHECK_THROWS(model->compile({.loss = "mse", .loss_weights = {1.0, 2.0, 3.0}}), ValueError,
                    Contains("compile: loss_weights has length 3 but the model has 2"));
  KEEL_CHECK_THROWS(model->compile({.loss = "mse", .metrics = {"mae"}}), ValueError,
                    Contains("compile: metrics has length 1 but the model has 2"));
  KEEL_CHECK_THROWS(model->compile({.loss = "mse", .metrics = {{"out", {"mae"}}}}), ValueError,
                    Contains("compile: metrics has the key 'out'"));
  CHECK_FALSE(model->compiled());
}

TEST_CASE("multi-io: docs/functional.md's multi-io fit example runs as written", "[multi_io]") {
  const std::int64_t n = 20;
  Tensor images = keel::random::uniform({n, 28, 28, 1}, 0, 1, 1);
  Tensor extras = keel::random::uniform({n, 4}, -1, 1, 2);
  std::vector<double> digits;
  for (std::int64_t i = 0; i < n; ++i) digits.push_back(static_cast<double>(i % 10));
  Tensor labels = test::f32(digits, {n});
  Tensor sizes = keel::random::uniform({n, 1}, 0, 2, 4);
  test::CoutCapture out;
  // From here to the end, the example's code.
  auto image = keel::Input({.shape = {28, 28, 1}, .name = "image"});
  auto extra = keel::Input({.shape = {4}, .name = "extra"});
  auto features = layers::Flatten({})(layers::Conv2D({.filters = 8, .kernel_size = 3})(image));
  auto joined = layers::Concatenate({})({features, layers::Dense({.units = 8})(extra)});
  auto digit = layers::Dense({.units = 10, .activation = "softmax"}, "digit")(joined);
  auto size = layers::Dense({.units = 1}, "size")(joined);
  auto model = Model::functional({image, extra}, {digit, size}, "two_heads");

  model->compile({.optimizer = "adam",
                  .loss = {{"digit", "sparse_categorical_crossentropy"}, {"size", "mse"}},
                  .loss_weights = {{"digit", 1.0}, {"size", 0.2}},
                  .metrics = {{"digit", {"accuracy"}}}});
  History history = model->fit({{"image", images}, {"extra", extras}}, {{"digit", labels}, {"size", sizes}},
                               {.batch_size = 32, .epochs = 3, .validation_split = 0.1});
  std::vector<double> results = model->evaluate({images, extras}, {labels, sizes});
  std::vector<Tensor> predictions = model->predict_all({images, extras});

  std::vector<std::string> keys;
  for (const auto& [key, values] : history.history) keys.push_back(key);
  CHECK(keys == std::vector<std::string>{"digit_accuracy", "digit_loss", "loss", "size_loss", "val_digit_accuracy",
                                         "val_digit_loss", "val_loss", "val_size_loss"});
  CHECK(history.history["loss"].size() == 3);
  REQUIRE(results.size() == 4);
  CHECK(results[0] == Approx(results[1] + 0.2 * results[2]));  // loss = digit_loss + 0.2 · size_loss
  CHECK(predictions[0].shape() == Shape{n, 10});
  CHECK(predictions[1].shape() == Shape{n, 1});
  CHECK_THAT(out.text(), Contains("Epoch 3/3"));
}
