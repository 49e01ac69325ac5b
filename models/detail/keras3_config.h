#pragma once
// A keel model's configuration in the form Keras 3 writes it (`model.to_json()`, a `.keras` file's
// config.json): every object carries `module`, `class_name`, `config` and `registered_name`, built layers a
// `build_config`, InputLayers a `batch_shape`, and a compiled model its `compile_config`.
#include <nlohmann/json.hpp>

namespace keel {
class Model;
}

namespace keel::models::detail {

// ValueError naming the layer, its class and the argument when the model uses a keel argument that
// Keras 3 has no way to express (for example BatchNormalization renorm); such arguments at their
// defaults are left out.
nlohmann::json keras3_model_config(const Model& model);

// The inverse for what keras3_model_config writes, and for Keras 3's own files of the same layers: a Keras 3
// model object ({"module", "class_name", "config", ...}) in the form keel's layer registry reads (module,
// registered_name, build_config and compile_config dropped, DTypePolicy objects as their name, InputLayer
// batch_shape as a per-sample shape, a single input or output triple as a list). Used until
// model_from_json reads Keras 3 configs.
nlohmann::json keel_config_from_keras3(const nlohmann::json& keras3_object);

}  // namespace keel::models::detail
