// model_from_json on Keras's to_json() output in the forms Keras 2.1 to 3 write (configs written after
// the shapes of real Keras output, see ../shared/keras_files/README.md).
#include "keel/models/keras_files.h"

#include <catch2/catch.hpp>
#include <string>

#include "keel/core/error.h"
#include "keel/layers/batch_normalization.h"
#include "keel/layers/dense.h"
#include "keel/models/functional.h"
#include "keel/models/sequential.h"
#include "support/floatx.h"
#include "support/throws.h"

using Catch::Matchers::Contains;
using keel::DType;
using keel::Shape;
using keel::ValueError;

namespace {

std::vector<std::string> classes_of(const keel::Model& model) {
  std::vector<std::string> out;
  for (const auto& layer : model.sublayers()) out.push_back(layer->class_name());
  return out;
}

// Keras 3's to_json() of Sequential([Input((4,)), Dense(3), BatchNormalization()]) compiled with Adam and mse.
const char* kKeras3Sequential = R"({"module": "keras", "class_name": "Sequential", "config": {"name": "sequential",
 "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"},
 "registered_name": null}, "layers": [
 {"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_shape": [null, 4], "dtype": "float32",
  "sparse": false, "ragged": false, "name": "input_layer"}, "registered_name": null},
 {"module": "keras.layers", "class_name": "Dense", "config": {"name": "dense", "trainable": true,
  "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null},
  "units": 3, "activation": "relu", "use_bias": true,
  "kernel_initializer": {"module": "keras.initializers", "class_name": "VarianceScaling",
   "config": {"scale": 2.0, "mode": "fan_in", "distribution": "truncated_normal", "seed": null}, "registered_name": null},
  "bias_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {}, "registered_name": null},
  "kernel_regularizer": {"module": "keras.regularizers", "class_name": "L1L2", "config": {"l1": 0.0, "l2": 0.01},
   "registered_name": null},
  "bias_regularizer": null, "kernel_constraint": null, "bias_constraint": null},
  "registered_name": null, "build_config": {"input_shape": [null, 4]}},
 {"module": "keras.layers", "class_name": "BatchNormalization", "config": {"name": "batch_normalization",
  "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"},
  "registered_name": null}, "axis": -1, "momentum": 0.99, "epsilon": 0.001, "center": true, "scale": true,
  "beta_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {}, "registered_name": null},
  "gamma_initializer": {"module": "keras.initializers", "class_name": "Ones", "config": {}, "registered_name": null},
  "moving_mean_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {}, "registered_name": null},
  "moving_variance_initializer": {"module": "keras.initializers", "class_name": "Ones", "config": {},
   "registered_name": null},
  "beta_regularizer": null, "gamma_regularizer": null, "beta_constraint": null, "gamma_constraint": null,
  "synchronized": false}, "registered_name": null, "build_config": {"input_shape": [null, 3]}}],
 "build_input_shape": [null, 4]}, "registered_name": null, "build_config": {"input_shape": [null, 4]},
 "compile_config": {"optimizer": "adam", "loss": "mse", "loss_weights": null, "metrics": null,
  "weighted_metrics": null, "run_eagerly": false, "steps_per_execution": 1, "jit_compile": false}})";

// Keras 2.1's Sequential: the config is the bare list, the input shape rides on the first layer.
const char* kKeras21Sequential = R"({"class_name": "Sequential", "keras_version": "2.1.3", "backend": "tensorflow",
 "config": [
 {"class_name": "Dense", "config": {"name": "dense_1", "trainable": true, "batch_input_shape": [null, 5],
  "dtype": "float32", "units": 2, "activation": "tanh", "use_bias": true,
  "kernel_initializer": {"class_name": "VarianceScaling", "config": {"scale": 1.0, "mode": "fan_avg",
   "distribution": "uniform", "seed": null}},
  "bias_initializer": {"class_name": "Zeros", "config": {}},
  "kernel_regularizer": {"class_name": "L1L2", "config": {"l1": 0.0, "l2": 0.0005}},
  "bias_regularizer": null, "activity_regularizer": null, "kernel_constraint": null, "bias_constraint": null}},
 {"class_name": "Dropout", "config": {"name": "dropout_1", "trainable": true, "rate": 0.5, "noise_shape": null,
  "seed": null}}]})";

// tf.keras 2.4's Functional with Keras 2 nested-list inbound_nodes and BN's axis as a list.
const char* kKeras2Functional = R"({"class_name": "Functional", "config": {"name": "model", "layers": [
 {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 6, 6, 2], "dtype": "float32", "sparse": false,
  "ragged": false, "name": "input_1"}, "name": "input_1", "inbound_nodes": []},
 {"class_name": "Conv2D", "config": {"name": "conv2d", "trainable": true, "dtype": "float32", "filters": 2,
  "kernel_size": [3, 3], "strides": [1, 1], "padding": "same", "data_format": "channels_last",
  "dilation_rate": [1, 1], "groups": 1, "activation": "linear", "use_bias": true,
  "kernel_initializer": {"class_name": "HeNormal", "config": {"seed": null}},
  "bias_initializer": {"class_name": "Zeros", "config": {}},
  "kernel_regularizer": {"class_name": "L2", "config": {"l2": 9.999999747378752e-05}},
  "bias_regularizer": null, "activity_regularizer": null, "kernel_constraint": null, "bias_constraint": null},
  "name": "conv2d", "inbound_nodes": [[["input_1", 0, 0, {}]]]},
 {"class_name": "BatchNormalization", "config": {"name": "batch_normalization", "trainable": true,
  "dtype": "float32", "axis": [3], "momentum": 0.99, "epsilon": 0.001, "center": true, "scale": true,
  "beta_initializer": {"class_name": "Zeros", "config": {}}, "gamma_initializer": {"class_name": "Ones", "config": {}},
  "moving_mean_initializer": {"class_name": "Zeros", "config": {}},
  "moving_variance_initializer": {"class_name": "Ones", "config": {}},
  "beta_regularizer": null, "gamma_regularizer": null, "beta_constraint": null, "gamma_constraint": null},
  "name": "batch_normalization", "inbound_nodes": [[["conv2d", 0, 0, {}]]]},
 {"class_name": "Add", "config": {"name": "add", "trainable": true, "dtype": "float32"}, "name": "add",
  "inbound_nodes": [[["batch_normalization", 0, 0, {}], ["input_1", 0, 0, {}]]]}],
 "input_layers": [["input_1", 0, 0]], "output_layers": [["add", 0, 0]]}, "keras_version": "2.4.0",
 "backend": "tensorflow"})";

// Keras 3's Functional: dict inbound_nodes with __keras_tensor__ arguments.
const char* kKeras3Functional = R"({"module": "keras.src.models.functional", "class_name": "Functional",
 "config": {"name": "functional", "trainable": true, "layers": [
 {"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_shape": [null, 3], "dtype": "float32",
  "sparse": false, "name": "input_layer"}, "registered_name": null, "name": "input_layer", "inbound_nodes": []},
 {"module": "keras.layers", "class_name": "Dense", "config": {"name": "dense", "trainable": true,
  "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null},
  "units": 2, "activation": "linear", "use_bias": true, "kernel_initializer": {"module": "keras.initializers",
  "class_name": "GlorotUniform", "config": {"seed": null}, "registered_name": null}, "bias_initializer":
  {"module": "keras.initializers", "class_name": "Zeros", "config": {}, "registered_name": null},
  "kernel_regularizer": null, "bias_regularizer": null, "kernel_constraint": null, "bias_constraint": null},
  "registered_name": null, "build_config": {"input_shape": [null, 3]}, "name": "dense",
  "inbound_nodes": [{"args": [{"class_name": "__keras_tensor__", "config": {"shape": [null, 3], "dtype": "float32",
  "keras_history": ["input_layer", 0, 0]}}], "kwargs": {}}]}],
 "input_layers": [["input_layer", 0, 0]], "output_layers": [["dense", 0, 0]]}, "registered_name": "Functional",
 "build_config": {"input_shape": null}})";

// Keras 3's Functional on int32 token ids: Input((4,), dtype="int32") -> Embedding(10, 2) -> Flatten.
const char* kKeras3Embedding = R"({"module": "keras.src.models.functional", "class_name": "Functional",
 "config": {"name": "functional", "trainable": true, "layers": [
 {"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_shape": [null, 4], "dtype": "int32",
  "sparse": false, "name": "tokens"}, "registered_name": null, "name": "tokens", "inbound_nodes": []},
 {"module": "keras.layers", "class_name": "Embedding", "config": {"name": "embedding", "trainable": true,
  "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null},
  "input_dim": 10, "output_dim": 2, "embeddings_initializer": {"module": "keras.initializers", "class_name":
  "RandomUniform", "config": {"seed": null, "minval": -0.05, "maxval": 0.05}, "registered_name": null},
  "embeddings_regularizer": null, "activity_regularizer": null, "embeddings_constraint": null, "mask_zero": false},
  "registered_name": null, "build_config": {"input_shape": [null, 4]}, "name": "embedding",
  "inbound_nodes": [{"args": [{"class_name": "__keras_tensor__", "config": {"shape": [null, 4], "dtype": "int32",
  "keras_history": ["tokens", 0, 0]}}], "kwargs": {}}]},
 {"module": "keras.layers", "class_name": "Flatten", "config": {"name": "flatten", "trainable": true,
  "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null},
  "data_format": "channels_last"}, "registered_name": null, "build_config": {"input_shape": [null, 4, 2]},
  "name": "flatten", "inbound_nodes": [{"args": [{"class_name": "__keras_tensor__", "config": {"shape":
  [null, 4, 2], "dtype": "float32", "keras_history": ["embedding", 0, 0]}}], "kwargs": {}}]}],
 "input_layers": [["tokens", 0, 0]], "output_layers": [["flatten", 0, 0]]}, "registered_name": "Functional",
 "build_config": {"input_shape": null}})";

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  auto at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

}  // namespace

TEST_CASE("model_from_json: Keras 3 Sequential with module, registered_name, build_config and DTypePolicy",
          "[keras_files]") {
  auto model = keel::model_from_json(kKeras3Sequential);
  REQUIRE(model->class_name() == "Sequential");
  CHECK(model->built());
  CHECK(classes_of(*model) == std::vector<std::string>{"Dense", "BatchNormalization"});
  // Dense 4 -> 3 and BN(3): 15 + 12.
  CHECK(model->count_params() == 15 + 12);
  CHECK(model->dtype() == DType::float32);
  auto dense = std::dynamic_pointer_cast<keel::layers::DenseLayer>(model->sublayers()[0]);
  REQUIRE(dense);
  CHECK(dense->options().units == 3);
  // The L1L2 kernel regularizer is kept: one penalty term.
  CHECK(model->losses().size() == 1);
  // As Keras 3 does, the compile_config compiles the model.
  CHECK(model->compiled());
}

TEST_CASE("model_from_json: Keras 2.1's bare-list Sequential takes its input from batch_input_shape",
          "[keras_files]") {
  auto model = keel::model_from_json(kKeras21Sequential);
  CHECK(model->built());
  CHECK(classes_of(*model) == std::vector<std::string>{"Dense", "Dropout"});
  CHECK(model->count_params() == 5 * 2 + 2);
  CHECK(model->compute_output_shape({7, 5}) == Shape{7, 2});
}

TEST_CASE("model_from_json: Functional with Keras 2 list and Keras 3 dict inbound_nodes", "[keras_files]") {
  auto keras2 = keel::model_from_json(kKeras2Functional);
  CHECK(keras2->class_name() == "Functional");
  CHECK(keras2->compute_output_shape({1, 6, 6, 2}) == Shape{1, 6, 6, 2});
  // Conv2D 3x3x2x2 + 2, BN(2) on axis [3].
  CHECK(keras2->count_params() == 38 + 8);
  auto bn = std::dynamic_pointer_cast<keel::layers::BatchNormalizationLayer>(
      std::dynamic_pointer_cast<keel::Functional>(keras2)->layers()[2]);
  REQUIRE(bn);
  CHECK(bn->options().axis == std::vector<std::int64_t>{3});
  // "Model" is tf.keras 2.2-2.3's name for the same class.
  CHECK(keel::model_from_json(replaced(kKeras2Functional, "\"Functional\"", "\"Model\""))->count_params() == 46);

  auto keras3 = keel::model_from_json(kKeras3Functional);
  CHECK(keras3->compute_output_shape({2, 3}) == Shape{2, 2});
  CHECK(keras3->count_params() == 8);
}

TEST_CASE("model_from_json: Keras's default float32 policy follows keel's floatx, float64 stays", "[keras_files]") {
  {
    keel::test::Floatx floatx(DType::float64);
    CHECK(keel::model_from_json(kKeras3Sequential)->weights()[0].dtype() == DType::float64);
  }
  std::string text = kKeras21Sequential;
  auto model = keel::model_from_json(replaced(text, "\"dtype\": \"float32\"", "\"dtype\": \"float64\""));
  CHECK(model->sublayers()[0]->dtype() == DType::float64);
}

TEST_CASE("model_from_json: what keel lacks is a ValueError naming the layer, class and argument", "[keras_files]") {
  KEEL_CHECK_THROWS(keel::model_from_json(replaced(kKeras21Sequential, "\"Dropout\"", "\"AlphaDropout\"")), ValueError,
                    Contains("'dropout_1'") && Contains("AlphaDropout") && Contains("supported:") &&
                        Contains("SpatialDropout2D"));
  KEEL_CHECK_THROWS(keel::model_from_json(replaced(kKeras2Functional, "\"groups\": 1", "\"groups\": 2")), ValueError,
                    Contains("'conv2d'") && Contains("Conv2D") && Contains("'groups'") && Contains("2"));
  KEEL_CHECK_THROWS(
      keel::model_from_json(replaced(kKeras21Sequential, "\"rate\": 0.5", "\"rate\": 0.5, \"unknown_flag\": true")),
      ValueError, Contains("'dropout_1'") && Contains("'unknown_flag'") && Contains("known keys"));
  KEEL_CHECK_THROWS(keel::model_from_json(replaced(kKeras3Functional, "{\"name\": \"float32\"}",
                                                   "{\"name\": \"mixed_float16\"}")),
                    ValueError, Contains("'dense'") && Contains("dtype") && Contains("mixed_float16"));
  KEEL_CHECK_THROWS(keel::model_from_json(replaced(kKeras2Functional, "\"sparse\": false", "\"sparse\": true")),
                    ValueError, Contains("'input_1'") && Contains("sparse"));
  KEEL_CHECK_THROWS(keel::model_from_json("{\"class_name\": \"Sequential\""), ValueError, Contains("not JSON"));
  KEEL_CHECK_THROWS(keel::model_from_json(R"({"class_name": "Dense", "config": {}})"), ValueError,
                    Contains("not a model"));
}

TEST_CASE("model_from_json: a null size in batch_input_shape or batch_shape is a free size", "[keras_files]") {
  auto keras2 = std::dynamic_pointer_cast<keel::Functional>(
      keel::model_from_json(replaced(kKeras2Functional, "[null, 6, 6, 2]", "[null, null, null, 2]")));
  REQUIRE(keras2);
  CHECK(keras2->inputs()[0].shape() == Shape{-1, -1, -1, 2});
  // Conv2D (same) and BatchNormalization keep the image size; Add adds the input back.
  CHECK(keras2->predict(keel::Tensor::zeros({1, 9, 7, 2})).shape() == Shape{1, 9, 7, 2});
  CHECK(keras2->count_params() == 46);

  // Keras 3's Input -> Dense with the Dense's input size free: Keras too needs it defined.
  KEEL_CHECK_THROWS(keel::model_from_json(replaced(kKeras3Functional, "[null, 3]", "[null, null]")), ValueError,
                    Contains("Dense 'dense' cannot be called on (None, None)") && Contains("free (None)"));
  KEEL_CHECK_THROWS(keel::model_from_json(replaced(kKeras3Functional, "[null, 3]", "[null, 0]")), ValueError,
                    Contains("'input_layer'") && Contains("neither a positive size nor null"));
}

TEST_CASE("model_from_json: an int32 InputLayer loads as keel's int64 and feeds an Embedding", "[keras_files]") {
  auto model = std::dynamic_pointer_cast<keel::Functional>(keel::model_from_json(kKeras3Embedding));
  REQUIRE(model);
  CHECK(model->inputs()[0].dtype() == DType::int64);
  CHECK(model->count_params() == 10 * 2);
  // Row i of the embedding table for each index: the Flatten output is the rows side by side.
  model->set_weights({keel::Tensor::from_vector({0, 0, 1, 10, 2, 20, 3, 30, 4, 40, 5, 50, 6, 60, 7, 70, 8, 80, 9, 90},
                                                {10, 2}, DType::float32)});
  const auto y = model->predict(keel::Tensor::from_vector({3, 1, 9, 0}, {1, 4}, DType::int64)).to_vector();
  CHECK(y == std::vector<double>{3, 30, 1, 10, 9, 90, 0, 0});
}
