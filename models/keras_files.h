#pragma once
// Models written by Keras (docs/keras_files.md): architectures from to_json() text. Keras's .h5 files load
// through keel::load_model and Model::load_weights, which recognize them by their first bytes.
#include <memory>
#include <string>

#include "keel/models/model.h"

namespace keel {

// Builds the freshly initialized model that Keras's model.to_json() describes: Keras 2.1 to 3,
// Sequential, Functional or Model. A layer class or argument keel lacks is a ValueError naming the layer,
// its class and the argument; nothing is dropped silently. A Keras 3 compile_config compiles the model
// where keel has its optimizer, loss and metrics (otherwise a warning, and the model stays uncompiled).
std::shared_ptr<Model> model_from_json(const std::string& text);

}  // namespace keel
