#pragma once
// Keras 3's model formats (docs/keras_files.md): `Model::save("x.keras")` writes the `.keras` zip,
// `save_weights` / `load_weights` with a name ending in `.weights.h5` write and read Keras 3's weights
// file, and `load_model` reads a `.keras` zip (recognized by its bytes, not its name).
#include <string>

#include "keel/models/model.h"

namespace keel {

// Keras 3's `model.to_json()`: the model's configuration as Keras 3 writes it in a `.keras` file's
// config.json (module, class_name, config, registered_name, build_config and, once compiled,
// compile_config). ValueError naming the layer and argument when the model uses something Keras 3
// cannot express.
std::string to_json(const Model& model);

}  // namespace keel
