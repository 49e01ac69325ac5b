#include "keel/models/keras3_format.h"

#include "keel/models/detail/keras3_config.h"

namespace keel {

std::string to_json(const Model& model) { return models::detail::keras3_model_config(model).dump(); }

}  // namespace keel
