#pragma once
// Keras's model configs (to_json(), an .h5 file's model_config) in every form Keras 2.1 to 3 writes them,
// turned into keel's own config form, which layers::deserialize reads.
#include <nlohmann/json.hpp>

namespace keel::keras {

// {"class_name": "Sequential" | "Functional" | "Model", "config": ...} from Keras into keel's form. A layer
// class or argument keel lacks is a ValueError naming the layer, its class and the argument.
nlohmann::json keel_model_config(const nlohmann::json& keras_model);

// `value` without Keras 3's module and registered_name next to any class_name and config, at any depth
// (initializer, regularizer, constraint and loss objects).
nlohmann::json without_class_locations(const nlohmann::json& value);

}  // namespace keel::keras
