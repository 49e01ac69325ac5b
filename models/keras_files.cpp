#include "keel/models/keras_files.h"

#include <fmt/format.h>

#include "keel/core/error.h"
#include "keel/layers/registry.h"
#include "keel/models/detail/keras_compile.h"
#include "keel/models/detail/keras_config.h"
#include "keel/models/saving.h"

namespace keel {

std::shared_ptr<Model> model_from_json(const std::string& text) {
  nlohmann::json keras;
  try {
    keras = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw ValueError(fmt::format("model_from_json: the text is not JSON ({})", e.what()));
  }
  register_model_classes();
  const nlohmann::json config = keras::keel_model_config(keras);
  std::shared_ptr<Model> model;
  try {
    model = std::dynamic_pointer_cast<Model>(layers::deserialize(config));
  } catch (const nlohmann::json::exception& e) {
    throw ValueError(fmt::format("model_from_json: malformed Keras config ({})", e.what()));
  }
  if (!model) throw ValueError("model_from_json: the config does not describe a model");
  model->build_from_declared_input();
  // Keras 3's deserialization compiles a model whose config carries a compile_config.
  if (keras.is_object() && keras.contains("compile_config") && !keras["compile_config"].is_null())
    keras::compile_from_compile_config(*model, keras["compile_config"], "model_from_json");
  return model;
}

}  // namespace keel
