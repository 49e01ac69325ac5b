// Keras 3's formats: to_json, `.keras` archives and `.weights.h5` files. Fixtures are built with libzip and
// libhdf5 directly (tests/support/), to the layout in ../shared/keras_files/README.md, never through keel's
// writer; keel's written files are read back the same way, field by field.
#include "keel/models/keras3_format.h"

#include <catch2/catch.hpp>

#include <string>

#include "keel/core/error.h"
#include "keel/layers/batch_normalization.h"
#include "keel/layers/dense.h"
#include "keel/layers/input.h"
#include "keel/models/functional.h"
#include "keel/models/sequential.h"
#include "keel/optim/adam.h"
#include "support/throws.h"

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
