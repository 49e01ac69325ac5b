// Keras 3's formats: to_json, `.keras` archives and `.weights.h5` files. Fixtures are built with libzip and
// libhdf5 directly (tests/support/), to the layout in ../shared/keras_files/README.md, never through keel's
// writer; keel's written files are read back the same way, field by field.
#include "keel/models/keras3_format.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <string>

#include "keel/core/error.h"
#include "keel/core/random.h"
#include "keel/layers/batch_normalization.h"
#include "keel/layers/conv2d.h"
#include "keel/layers/dense.h"
#include "keel/layers/embedding.h"
#include "keel/layers/global_pooling1d.h"
#include "keel/layers/global_pooling2d.h"
#include "keel/layers/input.h"
#include "keel/models/functional.h"
#include "keel/models/keras_files.h"
#include "keel/models/saving.h"
#include "keel/models/sequential.h"
#include "keel/optim/adam.h"
#include "support/hdf5_fixture.h"
#include "support/make_tensor.h"
#include "support/temp_dir.h"
#include "support/throws.h"
#include "support/zip_fixture.h"

using Catch::Matchers::Contains;
using namespace keel;
using json = nlohmann::json;

namespace {

std::shared_ptr<Sequential> small_sequential() {
  return std::make_shared<Sequential>(
      std::vector<layers::LayerPtr>{layers::Input({.shape = {3}}, "x"), layers::Dense({.units = 2, .activation = "relu"}, "d"),
                                    layers::BatchNormalization({}, "bn")},
      "seq");
}

void write_file(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// Input(2) -> Dense(2) -> BatchNormalization, the model the hand-built fixtures describe.
std::shared_ptr<Sequential> dense_bn() {
  return std::make_shared<Sequential>(std::vector<layers::LayerPtr>{
      layers::Input({.shape = {2}}), layers::Dense({.units = 2}), layers::BatchNormalization({})});
}

// The fixture's weights: kernel [[1, 2], [3, 4]], bias [0.5, -0.5]; BN gamma [2, 1], beta [0, 1],
// moving mean [1, 2], moving variance [3, 0] (a channel with variance exactly 0, as trained models have).
std::vector<test::Hdf5FixtureDataset> dense_bn_datasets(const std::string& prefix = "") {
  return {{prefix + "layers/dense/vars/0", {2, 2}, {1, 2, 3, 4}},
          {prefix + "layers/dense/vars/1", {2}, {0.5, -0.5}},
          {prefix + "layers/batch_normalization/vars/0", {2}, {2, 1}},
          {prefix + "layers/batch_normalization/vars/1", {2}, {0, 1}},
          {prefix + "layers/batch_normalization/vars/2", {2}, {1, 2}},
          {prefix + "layers/batch_normalization/vars/3", {2}, {3, 0}}};
}

std::string dense_bn_weights_file() { return test::hdf5_fixture({"vars"}, dense_bn_datasets()); }

// x = [1, 1]: Dense gives [1 + 3 + 0.5, 2 + 4 - 0.5] = [4.5, 5.5]; BN (epsilon 0.001) gives
// (4.5 - 1) * 2 / sqrt(3.001) + 0 and (5.5 - 2) * 1 / sqrt(0.001) + 1.
void check_dense_bn_prediction(Model& model) {
  Tensor y = model.predict(test::f32({1, 1}, {1, 2}));
  REQUIRE(y.shape() == Shape{1, 2});
  CHECK(y.to_vector()[0] == Approx(3.5 * 2 / std::sqrt(3.001)).epsilon(1e-6));
  CHECK(y.to_vector()[1] == Approx(3.5 / std::sqrt(0.001) + 1).epsilon(1e-6));
}

std::vector<double> flat_weights(const Model& model) {
  std::vector<double> out;
  for (const Tensor& w : model.get_weights())
    for (double v : w.to_vector()) out.push_back(v);
  return out;
}

}  // namespace

TEST_CASE("to_json writes a Sequential in Keras 3's form", "[keras3][to_json]") {
  auto model = small_sequential();
  json j = json::parse(to_json(*model));
  CHECK(j["module"] == "keras");
  CHECK(j["class_name"] == "Sequential");
  CHECK(j["registered_name"].is_null());
  CHECK(j["build_config"] == json::parse(R"({"input_shape": [null, 3]})"));
  CHECK_FALSE(j.contains("compile_config"));
  const json& config = j["config"];
  CHECK(config["name"] == "seq");
  CHECK(config["build_input_shape"] == json::parse("[null, 3]"));
  REQUIRE(config["layers"].size() == 3);
  CHECK(config["layers"][0] == json::parse(R"({"module": "keras.layers", "class_name": "InputLayer",
      "config": {"batch_shape": [null, 3], "dtype": "float32", "sparse": false, "name": "x"}, "registered_name": null})"));
  const json& dense = config["layers"][1];
  CHECK(dense["module"] == "keras.layers");
  CHECK(dense["class_name"] == "Dense");
  CHECK(dense["registered_name"].is_null());
  CHECK(dense["build_config"] == json::parse(R"({"input_shape": [null, 3]})"));
  CHECK(dense["config"]["units"] == 2);
  CHECK(dense["config"]["activation"] == "relu");
  CHECK(dense["config"]["kernel_initializer"] == json::parse(R"({"module": "keras.initializers",
      "class_name": "GlorotUniform", "config": {"seed": null}, "registered_name": null})"));
  const json& bn = config["layers"][2]["config"];
  CHECK(bn["axis"] == -1);
  for (const char* keras2_only : {"fused", "renorm", "renorm_clipping", "renorm_momentum", "virtual_batch_size"})
    CHECK_FALSE(bn.contains(keras2_only));
}

TEST_CASE("to_json adds Keras 3's compile_config to a compiled model", "[keras3][to_json]") {
  auto model = small_sequential();
  model->compile({.optimizer = std::make_shared<optim::Adam>(optim::AdamOptions{.learning_rate = 0.01}), .loss = "mse",
                  .metrics = {"mae"}});
  json c = json::parse(to_json(*model))["compile_config"];
  CHECK(c["optimizer"]["module"] == "keras.optimizers");
  CHECK(c["optimizer"]["class_name"] == "Adam");
  CHECK(c["optimizer"]["registered_name"].is_null());
  CHECK(c["optimizer"]["config"]["learning_rate"] == 0.01);
  CHECK_FALSE(c["optimizer"]["config"].contains("exclude_from_weight_decay"));
  CHECK(c["loss"]["module"] == "keras.losses");
  CHECK(c["loss"]["class_name"] == "MeanSquaredError");
  CHECK(c["metrics"] == json::parse(R"(["mae"])"));
  for (const char* key : {"loss_weights", "weighted_metrics"}) CHECK(c[key].is_null());
  CHECK(c["run_eagerly"] == false);
  CHECK(c["steps_per_execution"] == 1);
  CHECK(c["jit_compile"] == false);
}

TEST_CASE("to_json writes a Functional model with its InputLayer and a nested Sequential", "[keras3][to_json]") {
  auto inner = small_sequential();
  auto x = keel::Input({.shape = {3}, .name = "in"});
  auto model = Model::functional(x, layers::Dense({.units = 1}, "out")((*inner)(x)), "f");
  json j = json::parse(to_json(*model));
  CHECK(j["module"] == "keras.src.models.functional");
  CHECK(j["class_name"] == "Functional");
  CHECK(j["registered_name"] == "Functional");
  const json& config = j["config"];
  CHECK(config["input_layers"] == json::parse(R"(["in", 0, 0])"));
  CHECK(config["output_layers"] == json::parse(R"(["out", 0, 0])"));
  REQUIRE(config["layers"].size() == 3);
  CHECK(config["layers"][0]["class_name"] == "InputLayer");
  CHECK(config["layers"][0]["config"]["batch_shape"] == json::parse("[null, 3]"));
  CHECK(config["layers"][0]["name"] == "in");
  CHECK(config["layers"][0]["inbound_nodes"] == json::array());
  const json& nested = config["layers"][1];
  CHECK(nested["module"] == "keras");
  CHECK(nested["class_name"] == "Sequential");
  CHECK(nested["name"] == "seq");
  CHECK(nested["inbound_nodes"][0]["args"][0]["config"]["keras_history"] == json::parse(R"(["in", 0, 0])"));
  CHECK(nested["config"]["layers"][0]["class_name"] == "InputLayer");
  CHECK(nested["config"]["layers"][1]["module"] == "keras.layers");
}

TEST_CASE("to_json refuses an argument Keras 3 cannot express, naming layer and argument", "[keras3][to_json]") {
  auto model = std::make_shared<Sequential>(std::vector<layers::LayerPtr>{
      layers::Input({.shape = {4}}), layers::BatchNormalization({.virtual_batch_size = 2}, "ghost")});
  KEEL_CHECK_THROWS(to_json(*model), ValueError,
                    Contains("BatchNormalization 'ghost'") && Contains("virtual_batch_size = 2"));
}

TEST_CASE("load_weights reads a Keras 3 .weights.h5 built with libhdf5 to the README's layout", "[keras3][weights]") {
  test::TempDir dir("k3_weights");
  write_file(dir / "m.weights.h5", dense_bn_weights_file());
  auto model = dense_bn();
  model->load_weights(dir / "m.weights.h5");
  check_dense_bn_prediction(*model);
}

TEST_CASE("load_weights refuses a Keras 3 dataset of the wrong shape and leaves the model unchanged",
          "[keras3][weights]") {
  test::TempDir dir("k3_bad_shape");
  auto datasets = dense_bn_datasets();
  datasets[0] = {"layers/dense/vars/0", {2, 3}, {1, 2, 3, 4, 5, 6}};
  write_file(dir / "m.weights.h5", test::hdf5_fixture({"vars"}, datasets));
  auto model = dense_bn();
  const auto before = flat_weights(*model);
  KEEL_CHECK_THROWS(model->load_weights(dir / "m.weights.h5"), IOError,
                    Contains("m.weights.h5") && Contains("'layers/dense/vars/0'") && Contains("[2, 3]") &&
                        Contains("[2, 2]"));
  CHECK(flat_weights(*model) == before);
}

TEST_CASE("load_weights refuses a Keras 3 file with a missing variable or a layer the model lacks",
          "[keras3][weights]") {
  test::TempDir dir("k3_missing");
  auto model = dense_bn();
  const auto before = flat_weights(*model);
  auto missing = dense_bn_datasets();
  missing.pop_back();
  write_file(dir / "missing.weights.h5", test::hdf5_fixture({"vars"}, missing));
  KEEL_CHECK_THROWS(model->load_weights(dir / "missing.weights.h5"), IOError,
                    Contains("'layers/batch_normalization/vars' holds 3 dataset(s) but the layer has 4"));
  auto extra = dense_bn_datasets();
  extra.push_back({"layers/dense_1/vars/0", {2, 2}, {1, 1, 1, 1}});
  write_file(dir / "extra.weights.h5", test::hdf5_fixture({"vars"}, extra));
  KEEL_CHECK_THROWS(model->load_weights(dir / "extra.weights.h5"), IOError,
                    Contains("'layers/dense_1' is for a layer the model does not have"));
  CHECK(flat_weights(*model) == before);
}

TEST_CASE("save_weights writes Keras 3's .weights.h5 layout, read back with libhdf5", "[keras3][weights]") {
  test::TempDir dir("k3_save_weights");
  auto model = dense_bn();
  model->load_weights([&] {
    write_file(dir / "in.weights.h5", dense_bn_weights_file());
    return dir / "in.weights.h5";
  }());
  model->save_weights(dir / "out.weights.h5");
  std::ifstream in(dir / "out.weights.h5", std::ios::binary);
  const std::string image((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto contents = test::hdf5_fixture_contents(image);
  for (const char* group : {"vars", "layers", "layers/dense", "layers/dense/vars", "layers/batch_normalization",
                            "layers/batch_normalization/vars"})
    CHECK(std::find(contents.groups.begin(), contents.groups.end(), group) != contents.groups.end());
  CHECK_FALSE(std::count(contents.groups.begin(), contents.groups.end(), std::string("optimizer")));
  REQUIRE(contents.datasets.size() == 6);
  for (const auto& expected : dense_bn_datasets()) {
    INFO(expected.path);
    REQUIRE(contents.datasets.count(expected.path));
    const auto& got = contents.datasets[expected.path];
    CHECK(got.shape == expected.shape);
    CHECK(got.type_class == H5T_FLOAT);
    CHECK(got.type_size == 4);
    CHECK(got.values == expected.values);
  }
}

namespace {

// config.json of dense_bn() as Keras 3 writes it (keras/src/saving/serialization_lib.py).
const char* kDenseBnConfig = R"({"module": "keras", "class_name": "Sequential", "config": {"name": "sequential",
 "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"},
 "registered_name": null}, "layers": [{"module": "keras.layers", "class_name": "InputLayer", "config":
 {"batch_shape": [null, 2], "dtype": "float32", "sparse": false, "name": "input_layer"}, "registered_name": null},
 {"module": "keras.layers", "class_name": "Dense", "config": {"name": "dense", "trainable": true, "dtype":
 {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null},
 "units": 2, "activation": "linear", "use_bias": true, "kernel_initializer": {"module": "keras.initializers",
 "class_name": "GlorotUniform", "config": {"seed": null}, "registered_name": null}, "bias_initializer": {"module":
 "keras.initializers", "class_name": "Zeros", "config": {}, "registered_name": null}, "kernel_regularizer": null,
 "bias_regularizer": null, "kernel_constraint": null, "bias_constraint": null}, "registered_name": null,
 "build_config": {"input_shape": [null, 2]}}, {"module": "keras.layers", "class_name": "BatchNormalization",
 "config": {"name": "batch_normalization", "trainable": true, "dtype": {"module": "keras", "class_name":
 "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}, "axis": -1, "momentum": 0.99, "epsilon":
 0.001, "center": true, "scale": true, "beta_initializer": {"module": "keras.initializers", "class_name": "Zeros",
 "config": {}, "registered_name": null}, "gamma_initializer": {"module": "keras.initializers", "class_name": "Ones",
 "config": {}, "registered_name": null}, "moving_mean_initializer": {"module": "keras.initializers", "class_name":
 "Zeros", "config": {}, "registered_name": null}, "moving_variance_initializer": {"module": "keras.initializers",
 "class_name": "Ones", "config": {}, "registered_name": null}, "beta_regularizer": null, "gamma_regularizer": null,
 "beta_constraint": null, "gamma_constraint": null, "synchronized": false}, "registered_name": null,
 "build_config": {"input_shape": [null, 2]}}], "build_input_shape": [null, 2]}, "registered_name": null,
 "build_config": {"input_shape": [null, 2]}})";

const char* kMetadata = R"({"keras_version": "3.6.0", "date_saved": "2026-12-01@10:00:00"})";

std::string dense_bn_archive(bool deflate_weights) {
  return test::zip_fixture({{"metadata.json", kMetadata, false},
                            {"config.json", kDenseBnConfig, false},
                            {"model.weights.h5", dense_bn_weights_file(), deflate_weights}});
}

std::span<const std::byte> as_bytes(const std::string& s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

std::string read_whole(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {(std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>()};
}

void check_same_predictions(Model& a, Model& b, const Tensor& x) {
  auto ya = a.predict(x).to_vector(), yb = b.predict(x).to_vector();
  CHECK(ya == yb);
}

}  // namespace

TEST_CASE("load_model reads a .keras archive built with libzip and libhdf5, stored or deflated", "[keras3][archive]") {
  test::TempDir dir("k3_archive");
  for (bool deflate : {false, true}) {
    write_file(dir / "m.keras", dense_bn_archive(deflate));
    auto model = load_model(dir / "m.keras");
    CHECK(model->class_name() == "Sequential");
    check_dense_bn_prediction(*model);
  }
}

TEST_CASE("load_model recognizes a .keras archive by its bytes, whatever its name", "[keras3][archive]") {
  test::TempDir dir("k3_named");
  write_file(dir / "model.bin", dense_bn_archive(false));
  check_dense_bn_prediction(*load_model(dir / "model.bin"));
}

TEST_CASE("load_model refuses a broken .keras archive with an IOError naming the file", "[keras3][archive]") {
  const std::string good = dense_bn_archive(false);
  SECTION("truncated") {
    const std::string cut = good.substr(0, good.size() / 2);
    KEEL_CHECK_THROWS(load_model_from_bytes(as_bytes(cut), "cut.keras"), IOError, Contains("cut.keras"));
  }
  SECTION("a member missing") {
    const std::string archive = test::zip_fixture({{"metadata.json", kMetadata}, {"model.weights.h5", dense_bn_weights_file()}});
    KEEL_CHECK_THROWS(load_model_from_bytes(as_bytes(archive), "nocfg.keras"), IOError,
                      Contains("'nocfg.keras'") && Contains("without 'config.json'"));
  }
  SECTION("a weights member larger than the model can need") {
    const std::string archive = test::zip_fixture({{"metadata.json", kMetadata},
                                                   {"config.json", kDenseBnConfig},
                                                   {"model.weights.h5", std::string(20u << 20, '\0'), true}});
    KEEL_CHECK_THROWS(load_model_from_bytes(as_bytes(archive), "big.keras"), IOError,
                      Contains("'big.keras'") && Contains("model.weights.h5") && Contains("more than the limit"));
  }
  SECTION("a weights member that is not HDF5") {
    const std::string archive = test::zip_fixture(
        {{"metadata.json", kMetadata}, {"config.json", kDenseBnConfig}, {"model.weights.h5", "not hdf5 at all"}});
    KEEL_CHECK_THROWS(load_model_from_bytes(as_bytes(archive), "junk.keras"), IOError,
                      Contains("junk.keras") && Contains("model.weights.h5"));
  }
  SECTION("a dataset of the wrong shape") {
    auto datasets = dense_bn_datasets();
    datasets[1] = {"layers/dense/vars/1", {3}, {0, 0, 0}};
    const std::string archive = test::zip_fixture({{"metadata.json", kMetadata},
                                                   {"config.json", kDenseBnConfig},
                                                   {"model.weights.h5", test::hdf5_fixture({"vars"}, datasets)}});
    KEEL_CHECK_THROWS(load_model_from_bytes(as_bytes(archive), "shape.keras"), IOError,
                      Contains("'layers/dense/vars/1'") && Contains("[3]") && Contains("[2]"));
  }
  SECTION("a config that is not JSON") {
    const std::string archive = test::zip_fixture(
        {{"metadata.json", kMetadata}, {"config.json", "{not json"}, {"model.weights.h5", dense_bn_weights_file()}});
    KEEL_CHECK_THROWS(load_model_from_bytes(as_bytes(archive), "cfg.keras"), IOError,
                      Contains("cfg.keras") && Contains("config.json"));
  }
}

TEST_CASE("save writes a .keras archive to Keras 3's layout, checked with libzip and libhdf5", "[keras3][archive]") {
  test::TempDir dir("k3_save");
  set_random_seed(7);
  auto model = dense_bn();
  model->compile({.optimizer = std::make_shared<optim::Adam>(optim::AdamOptions{.learning_rate = 0.01}), .loss = "mse"});
  model->fit(random::normal({16, 2}, 0, 1, 1), random::normal({16, 2}, 0, 1, 2),
             {.batch_size = 8, .epochs = 1, .verbose = 0, .seed = 1});
  model->save(dir / "m.keras");
  auto entries = test::zip_fixture_entries(read_whole(dir / "m.keras"));
  REQUIRE(entries.size() == 3);
  CHECK(entries[0].name == "metadata.json");
  CHECK(entries[1].name == "config.json");
  CHECK(entries[2].name == "model.weights.h5");
  for (const auto& e : entries) CHECK(e.method == ZIP_CM_STORE);
  json metadata = json::parse(entries[0].bytes);
  CHECK(metadata["keras_version"].get<std::string>().starts_with("3."));
  const std::string date = metadata["date_saved"];
  REQUIRE(date.size() == 19);  // YYYY-MM-DD@HH:MM:SS
  CHECK(date[4] == '-');
  CHECK(date[10] == '@');
  CHECK(date[13] == ':');
  CHECK(json::parse(entries[1].bytes) == json::parse(to_json(*model)));

  auto h5 = test::hdf5_fixture_contents(entries[2].bytes);
  const auto weights = model->get_weights();
  const char* paths[] = {"layers/dense/vars/0", "layers/dense/vars/1", "layers/batch_normalization/vars/0",
                         "layers/batch_normalization/vars/1", "layers/batch_normalization/vars/2",
                         "layers/batch_normalization/vars/3"};
  for (std::size_t i = 0; i < 6; ++i) {
    INFO(paths[i]);
    REQUIRE(h5.datasets.count(paths[i]));
    CHECK(h5.datasets[paths[i]].values == weights[i].to_vector());
  }
  // Adam: iterations, learning_rate, then (m, v) for each of the four trainable variables.
  auto& iterations = h5.datasets["optimizer/vars/0"];
  CHECK(iterations.type_class == H5T_INTEGER);
  CHECK(iterations.type_size == 8);
  CHECK(iterations.shape.empty());
  CHECK(iterations.values == std::vector<double>{2});
  CHECK(h5.datasets["optimizer/vars/1"].values[0] == Approx(0.01));
  CHECK(h5.datasets["optimizer/vars/1"].shape.empty());
  const std::vector<std::uint64_t> trainable_shapes[] = {{2, 2}, {2}, {2}, {2}};
  for (std::size_t i = 0; i < 4; ++i) {
    CHECK(h5.datasets["optimizer/vars/" + std::to_string(2 + 2 * i)].shape == trainable_shapes[i]);
    CHECK(h5.datasets["optimizer/vars/" + std::to_string(3 + 2 * i)].shape == trainable_shapes[i]);
  }
  CHECK(h5.datasets.size() == 6 + 2 + 8);
  CHECK(std::count(h5.groups.begin(), h5.groups.end(), std::string("vars")) == 1);
}

TEST_CASE("keel reads back the .keras files it writes with identical predictions", "[keras3][archive]") {
  test::TempDir dir("k3_round_trip");
  set_random_seed(11);
  const Tensor x = random::normal({5, 3}, 0, 1, 3);
  auto trained = [&](std::shared_ptr<Model> model) {
    model->compile({.optimizer = "adam", .loss = "mse"});
    model->fit(random::normal({32, 3}, 2, 3, 4), random::normal({32, 1}, 0, 1, 5),
               {.batch_size = 8, .epochs = 2, .verbose = 0, .seed = 1});
    return model;
  };
  SECTION("Sequential with BatchNormalization statistics") {
    auto model = trained(std::make_shared<Sequential>(std::vector<layers::LayerPtr>{
        layers::Input({.shape = {3}}), layers::Dense({.units = 4, .activation = "relu"}),
        layers::BatchNormalization({.momentum = 0.5}), layers::Dense({.units = 1})}));
    model->save(dir / "s.keras");
    auto loaded = load_model(dir / "s.keras");
    CHECK(flat_weights(*loaded) == flat_weights(*model));
    check_same_predictions(*model, *loaded, x);
  }
  SECTION("Functional with an InputLayer and a nested Sequential") {
    auto inner = std::make_shared<Sequential>(std::vector<layers::LayerPtr>{
        layers::Input({.shape = {4}}), layers::Dense({.units = 4}), layers::BatchNormalization({.momentum = 0.5})});
    auto in = keel::Input({.shape = {3}});
    auto h = layers::Dense({.units = 4, .activation = "relu"})(in);
    auto model = trained(Model::functional(in, layers::Dense({.units = 1})((*inner)(h))));
    model->save(dir / "f.keras");
    auto loaded = load_model(dir / "f.keras");
    CHECK(loaded->class_name() == "Functional");
    CHECK(flat_weights(*loaded) == flat_weights(*model));
    check_same_predictions(*model, *loaded, x);
  }
}

namespace {

// Conv2D on images of any size -> global average pooling -> Dense.
std::shared_ptr<Model> any_size_convnet() {
  auto in = keel::Input({.shape = {-1, -1, 3}, .name = "image"});
  auto x = layers::Conv2D({.filters = 2, .kernel_size = 3, .padding = "same"}, "conv")(in);
  return Model::functional(in, layers::Dense({.units = 2}, "out")(layers::GlobalAveragePooling2D({}, "gap")(x)), "fcn");
}

// An int64 Input of 5 indices -> Embedding -> average over the sequence -> Dense.
std::shared_ptr<Model> bag_of_words() {
  auto tokens = keel::Input({.shape = {5}, .dtype = DType::int64, .name = "tokens"});
  auto embedded = layers::Embedding({.input_dim = 6, .output_dim = 3}, "emb")(tokens);
  auto pooled = layers::GlobalAveragePooling1D({}, "mean")(embedded);
  return Model::functional(tokens, layers::Dense({.units = 1}, "out")(pooled), "bow");
}

}  // namespace

TEST_CASE("to_json writes free sizes as null and an integer Input's dtype", "[keras3][to_json]") {
  json j = json::parse(to_json(*any_size_convnet()));
  const json& layers_json = j["config"]["layers"];
  CHECK(layers_json[0]["config"]["batch_shape"] == json::parse("[null, null, null, 3]"));
  CHECK(layers_json[1]["build_config"]["input_shape"] == json::parse("[null, null, null, 3]"));
  CHECK(layers_json[1]["inbound_nodes"][0]["args"][0]["config"]["shape"] == json::parse("[null, null, null, 3]"));
  auto read = std::dynamic_pointer_cast<Functional>(model_from_json(j.dump()));
  REQUIRE(read);
  CHECK(read->inputs()[0].shape() == Shape{-1, -1, -1, 3});

  json words = json::parse(to_json(*bag_of_words()));
  CHECK(words["config"]["layers"][0]["config"]["dtype"] == "int64");
  auto read_words = std::dynamic_pointer_cast<Functional>(model_from_json(words.dump()));
  REQUIRE(read_words);
  CHECK(read_words->inputs()[0].dtype() == DType::int64);
}

TEST_CASE("a .keras file keeps free sizes and an integer Input's dtype", "[keras3][archive]") {
  test::TempDir dir("k3_free_int");
  set_random_seed(21);
  SECTION("free sizes") {
    auto model = any_size_convnet();
    model->save(dir / "fcn.keras");
    auto loaded = std::dynamic_pointer_cast<Functional>(load_model(dir / "fcn.keras"));
    REQUIRE(loaded);
    CHECK(loaded->inputs()[0].shape() == Shape{-1, -1, -1, 3});
    check_same_predictions(*model, *loaded, random::normal({2, 9, 5, 3}, 0, 1, 22));
    check_same_predictions(*model, *loaded, random::normal({1, 4, 7, 3}, 0, 1, 23));
  }
  SECTION("an int64 Input") {
    auto model = bag_of_words();
    model->save(dir / "bow.keras");
    auto loaded = std::dynamic_pointer_cast<Functional>(load_model(dir / "bow.keras"));
    REQUIRE(loaded);
    CHECK(loaded->inputs()[0].dtype() == DType::int64);
    check_same_predictions(*model, *loaded, test::i64({0, 1, 2, 3, 4, 5, 5, 5, 0, 1}, {2, 5}));
  }
}
