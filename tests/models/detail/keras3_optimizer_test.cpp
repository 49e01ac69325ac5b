// A compiled model's optimizer in Keras 3 files ("optimizer/vars/<i>"): written in the order of Keras 3.6's
// optimizer.variables (iterations, learning rate, then the slots as each optimizer's build() creates them,
// keras/src/optimizers/*.py), read back by load_model so training continues exactly where it stopped.
// Fixtures are built with libhdf5 and libzip directly (tests/support/).
#include "keel/models/detail/keras3_optimizer.h"

#include <catch2/catch.hpp>

#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "keel/core/error.h"
#include "keel/core/random.h"
#include "keel/layers/batch_normalization.h"
#include "keel/layers/dense.h"
#include "keel/layers/input.h"
#include "keel/models/detail/keras3_weights.h"
#include "keel/models/keras3_format.h"
#include "keel/models/saving.h"
#include "keel/models/sequential.h"
#include "keel/optim/adagrad.h"
#include "keel/optim/adam.h"
#include "keel/optim/adamw.h"
#include "keel/optim/rmsprop.h"
#include "keel/optim/sgd.h"
#include "support/hdf5_fixture.h"
#include "support/temp_dir.h"
#include "support/throws.h"
#include "support/zip_fixture.h"

using Catch::Matchers::Contains;
using namespace keel;

namespace {

using OptimizerFactory = std::function<std::shared_ptr<optim::Optimizer>()>;

std::shared_ptr<Sequential> dense_bn_dense() {
  return std::make_shared<Sequential>(std::vector<layers::LayerPtr>{
      layers::Input({.shape = {3}}), layers::Dense({.units = 4, .activation = "relu"}),
      layers::BatchNormalization({.momentum = 0.5}), layers::Dense({.units = 1})});
}

// Input(2) -> Dense(2): trainable variables layers/dense/vars/0 (kernel [2, 2]) and layers/dense/vars/1 (bias).
std::shared_ptr<Sequential> one_dense(const std::shared_ptr<optim::Optimizer>& optimizer) {
  auto model = std::make_shared<Sequential>(
      std::vector<layers::LayerPtr>{layers::Input({.shape = {2}}), layers::Dense({.units = 2})});
  model->compile({.optimizer = optimizer, .loss = "mse"});
  return model;
}

optim::KeyedVariables dense_keys(const Model& model) {
  return {{"layers/dense/vars/0", model.weights()[0]}, {"layers/dense/vars/1", model.weights()[1]}};
}

std::vector<std::vector<double>> values_of(const std::vector<Tensor>& tensors) {
  std::vector<std::vector<double>> out;
  for (const Tensor& t : tensors) out.push_back(t.to_vector());
  return out;
}

std::vector<std::vector<double>> state_values(const Model& model) {
  std::vector<Tensor> tensors;
  for (const auto& [name, t] : model.optimizer()->state(dense_keys(model))) tensors.push_back(t);
  return values_of(tensors);
}

test::Hdf5FixtureContents saved_weights_file(const Model& model, const std::filesystem::path& path) {
  model.save(path);
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (const auto& entry : test::zip_fixture_entries(bytes))
    if (entry.name == "model.weights.h5") return test::hdf5_fixture_contents(entry.bytes);
  FAIL("no model.weights.h5 in " << path);
  return {};
}

// The Dense layer's weights and an Adam state as Keras 3 writes them: iterations 3, learning rate 0.01,
// then m(kernel), v(kernel), m(bias), v(bias).
std::vector<test::Hdf5FixtureDataset> adam_fixture(hid_t iterations_type = H5T_STD_I64LE, double learning_rate = 0.01) {
  return {{"layers/dense/vars/0", {2, 2}, {1, 2, 3, 4}},
          {"layers/dense/vars/1", {2}, {0.5, -0.5}},
          {"optimizer/vars/0", {}, {3}, iterations_type},
          {"optimizer/vars/1", {}, {learning_rate}},
          {"optimizer/vars/2", {2, 2}, {0.1, 0.2, 0.3, 0.4}},
          {"optimizer/vars/3", {2, 2}, {0.01, 0.02, 0.03, 0.04}},
          {"optimizer/vars/4", {2}, {-0.1, -0.2}},
          {"optimizer/vars/5", {2}, {0.05, 0.06}}};
}

io::hdf5::File open_fixture(const std::vector<test::Hdf5FixtureDataset>& datasets) {
  const std::string image = test::hdf5_fixture({"vars"}, datasets);
  return io::hdf5::File::open_bytes(std::as_bytes(std::span<const char>(image)), "fixture.weights.h5");
}

}  // namespace

TEST_CASE("keras3 optimizer: training continued after .keras save/load is bitwise that of the saved model",
          "[keras3][optimizer]") {
  auto [label, make] = GENERATE(table<std::string, OptimizerFactory>({
      {"Adam amsgrad", [] { return std::make_shared<optim::Adam>(optim::AdamOptions{.learning_rate = 0.01, .amsgrad = true}); }},
      {"AdamW", [] { return std::make_shared<optim::AdamW>(optim::AdamWOptions{.learning_rate = 0.01}); }},
      {"SGD momentum", [] { return std::make_shared<optim::SGD>(optim::SGDOptions{.learning_rate = 0.05, .momentum = 0.9, .nesterov = true}); }},
      {"RMSprop centered momentum", [] { return std::make_shared<optim::RMSprop>(optim::RMSpropOptions{.learning_rate = 0.01, .momentum = 0.5, .centered = true}); }},
      {"Adagrad", [] { return std::make_shared<optim::Adagrad>(optim::AdagradOptions{.learning_rate = 0.1}); }},
  }));
  INFO(label);
  test::TempDir dir("k3_optimizer_resume");
  set_random_seed(7);
  const Tensor x = random::normal({32, 3}, 0, 1, 1);
  const Tensor y = random::normal({32, 1}, 0, 1, 2);
  auto saved = dense_bn_dense();
  saved->compile({.optimizer = make(), .loss = "mse"});
  saved->fit(x, y, {.batch_size = 8, .epochs = 2, .verbose = 0, .seed = 3});
  saved->save(dir / "m.keras");

  auto loaded = load_model(dir / "m.keras");
  REQUIRE(loaded->compiled());
  CHECK(loaded->optimizer()->class_name() == saved->optimizer()->class_name());
  CHECK(loaded->optimizer()->iterations() == 8);
  saved->fit(x, y, {.batch_size = 8, .epochs = 2, .verbose = 0, .seed = 4});
  loaded->fit(x, y, {.batch_size = 8, .epochs = 2, .verbose = 0, .seed = 4});
  CHECK(loaded->optimizer()->iterations() == 16);
  CHECK(values_of(loaded->get_weights()) == values_of(saved->get_weights()));
}

TEST_CASE("keras3 optimizer: slots are written in Keras 3.6's build order", "[keras3][optimizer]") {
  test::TempDir dir("k3_optimizer_order");
  const Tensor x = Tensor::from_vector({1, -2, 0.5, 3}, {2, 2}, DType::float32);
  const Tensor y = Tensor::from_vector({0.5, 1, -1, 2}, {2, 2}, DType::float32);
  // Keras 3.6: Adam creates momentum and velocity variable by variable, then the velocity_hats; RMSprop
  // creates every velocity, then every momentum, then every average_gradient.
  auto [make, order] = GENERATE(table<OptimizerFactory, std::vector<std::string>>({
      {[] { return std::make_shared<optim::Adam>(optim::AdamOptions{.amsgrad = true}); },
       {"layers/dense/vars/0/m", "layers/dense/vars/0/v", "layers/dense/vars/1/m", "layers/dense/vars/1/v",
        "layers/dense/vars/0/v_hat", "layers/dense/vars/1/v_hat"}},
      {[] { return std::make_shared<optim::RMSprop>(optim::RMSpropOptions{.momentum = 0.5, .centered = true}); },
       {"layers/dense/vars/0/velocity", "layers/dense/vars/1/velocity", "layers/dense/vars/0/momentum",
        "layers/dense/vars/1/momentum", "layers/dense/vars/0/average_gradient",
        "layers/dense/vars/1/average_gradient"}},
  }));
  auto model = one_dense(make());
  model->fit(x, y, {.batch_size = 2, .epochs = 1, .verbose = 0});
  std::map<std::string, std::vector<double>> state;
  for (const auto& [name, t] : model->optimizer()->state(dense_keys(*model))) state[name] = t.to_vector();
  auto h5 = saved_weights_file(*model, dir / "m.keras");
  CHECK(h5.datasets["optimizer/vars/0"].values == std::vector<double>{1});
  for (std::size_t i = 0; i < order.size(); ++i) {
    INFO("optimizer/vars/" << 2 + i << " should be " << order[i]);
    CHECK(h5.datasets["optimizer/vars/" + std::to_string(2 + i)].values == state.at(order[i]));
  }
  CHECK(h5.datasets.size() == 2 + 2 + order.size());
}

TEST_CASE("keras3 optimizer: a variable not stepped yet gets its slots' initial values in the file",
          "[keras3][optimizer]") {
  test::TempDir dir("k3_optimizer_partial");
  auto model = one_dense(std::make_shared<optim::Adagrad>(optim::AdagradOptions{.initial_accumulator_value = 0.25}));
  // Only the kernel is stepped: Keras builds every trainable variable's slots, so the bias's accumulator is
  // written at its initial value 0.25.
  model->optimizer()->apply_gradients({Tensor::ones({2, 2}, DType::float32)}, {model->weights()[0]});
  auto h5 = saved_weights_file(*model, dir / "m.keras");
  CHECK(h5.datasets["optimizer/vars/2"].values == std::vector<double>(4, 1.25));  // 0.25 + 1²
  CHECK(h5.datasets["optimizer/vars/3"].values == std::vector<double>{0.25, 0.25});
  CHECK(h5.datasets.size() == 2 + 2 + 2);
}

TEST_CASE("keras3 optimizer: load_model restores iterations and slots from a Keras-layout file",
          "[keras3][optimizer]") {
  test::TempDir dir("k3_optimizer_fixture");
  // JAX's Keras writes the iteration count as int32, TensorFlow's as int64.
  const bool int64_count = GENERATE(true, false);
  const hid_t iterations_type = int64_count ? H5T_STD_I64LE : H5T_STD_I32LE;
  auto blueprint = one_dense(std::make_shared<optim::Adam>(optim::AdamOptions{.learning_rate = 0.01}));
  const std::string archive = test::zip_fixture(
      {{"metadata.json", R"({"keras_version": "3.6.0", "date_saved": "2026-01-01@00:00:00"})"},
       {"config.json", to_json(*blueprint)},
       {"model.weights.h5", test::hdf5_fixture({"vars"}, adam_fixture(iterations_type))}});
  std::ofstream(dir / "m.keras", std::ios::binary) << archive;
  auto model = load_model(dir / "m.keras");
  REQUIRE(model->compiled());
  CHECK(model->optimizer()->iterations() == 3);
  CHECK(model->optimizer()->learning_rate() == 0.01);
  const std::vector<std::vector<double>> want = {
      {3}, {0.1f, 0.2f, 0.3f, 0.4f}, {0.01f, 0.02f, 0.03f, 0.04f}, {-0.1f, -0.2f}, {0.05f, 0.06f}};
  CHECK(state_values(*model) == want);
}

TEST_CASE("keras3 optimizer: the file's learning rate wins over the compiled one when they differ",
          "[keras3][optimizer]") {
  // Keras 3 keeps the rate in a variable that callbacks such as ReduceLROnPlateau assign; loading restores it.
  auto model = one_dense(std::make_shared<optim::Adam>(optim::AdamOptions{.learning_rate = 0.01}));
  models::detail::load_keras3_weights(*model, open_fixture(adam_fixture(H5T_STD_I64LE, 0.0025)), true);
  CHECK(model->optimizer()->learning_rate() == static_cast<double>(0.0025f));
  // Equal at float32 precision: the compiled rate stays exact (the file holds it as float32).
  model->compile({.optimizer = std::make_shared<optim::Adam>(optim::AdamOptions{.learning_rate = 0.01}), .loss = "mse"});
  models::detail::load_keras3_weights(*model, open_fixture(adam_fixture()), true);
  CHECK(model->optimizer()->learning_rate() == 0.01);
}

TEST_CASE("keras3 optimizer: variables that do not fit the optimizer are an IOError naming them, model untouched",
          "[keras3][optimizer]") {
  auto model = one_dense(std::make_shared<optim::Adam>(optim::AdamOptions{.learning_rate = 0.01}));
  model->fit(Tensor::ones({2, 2}, DType::float32), Tensor::zeros({2, 2}, DType::float32),
             {.batch_size = 2, .epochs = 1, .verbose = 0});
  const auto weights_before = values_of(model->get_weights());
  const auto state_before = state_values(*model);
  std::vector<test::Hdf5FixtureDataset> datasets = adam_fixture();
  std::vector<std::string> expected;
  SECTION("a slot missing") {
    datasets.pop_back();
    expected = {"optimizer/vars", "5 dataset(s)", "optimizer/vars/5", "slot 'v'", "layers/dense/vars/1"};
  }
  SECTION("one dataset too many") {
    datasets.push_back({"optimizer/vars/6", {2}, {0, 0}});
    expected = {"7 dataset(s)", "optimizer/vars/6"};
  }
  SECTION("a slot of the wrong shape") {
    datasets[4] = {"optimizer/vars/2", {3}, {0, 0, 0}};
    expected = {"optimizer/vars/2", "slot 'm'", "layers/dense/vars/0", "[3]", "[2, 2]"};
  }
  SECTION("iterations stored as a float") {
    datasets[2] = {"optimizer/vars/0", {}, {3}};
    expected = {"optimizer/vars/0", "iterations", "not an integer"};
  }
  SECTION("a negative iteration count") {
    datasets[2] = {"optimizer/vars/0", {}, {-1}, H5T_STD_I64LE};
    expected = {"optimizer/vars/0", "iterations", "-1"};
  }
  const io::hdf5::File file = open_fixture(datasets);
  try {
    models::detail::load_keras3_weights(*model, file, true);
    FAIL("no IOError");
  } catch (const IOError& e) {
    const std::string message = e.what();
    INFO(message);
    CHECK_THAT(message, Contains("fixture.weights.h5"));
    for (const auto& part : expected) CHECK_THAT(message, Contains(part));
  }
  CHECK(values_of(model->get_weights()) == weights_before);
  CHECK(model->optimizer()->iterations() == 1);
  CHECK(state_values(*model) == state_before);
}

TEST_CASE("keras3 optimizer: load_weights leaves the optimizer alone, and a good file restores it in place",
          "[keras3][optimizer]") {
  auto model = one_dense(std::make_shared<optim::Adam>(optim::AdamOptions{.learning_rate = 0.01}));
  models::detail::load_keras3_weights(*model, open_fixture(adam_fixture()), false);
  CHECK(model->optimizer()->iterations() == 0);
  CHECK(model->get_weights()[0].to_vector() == std::vector<double>{1, 2, 3, 4});
  models::detail::load_keras3_weights(*model, open_fixture(adam_fixture()), true);
  CHECK(model->optimizer()->iterations() == 3);
}
