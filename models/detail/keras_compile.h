#pragma once
// Keras's recorded compile settings (a legacy .h5 file's training_config, Keras 3's compile_config) turned
// into Model::compile. Where keel lacks the optimizer, loss or a metric, the model stays uncompiled and a
// warning says why: the architecture and weights are still usable.
#include <string>

#include <nlohmann/json.hpp>

#include "keel/models/model.h"

namespace keel::keras {

// `text` is the training_config attribute: {"optimizer_config", "loss", "metrics", ...}.
void compile_from_training_config(Model& model, const std::string& text, const std::string& source);
// Keras 3's compile_config: {"optimizer", "loss", "metrics", ...}.
void compile_from_compile_config(Model& model, const nlohmann::json& config, const std::string& source);

}  // namespace keel::keras
