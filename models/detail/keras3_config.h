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


}  // namespace keel::models::detail
