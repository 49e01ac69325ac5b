#include "keel/layers/layer_options.h"

#include <fmt/format.h>

#include "keel/core/error.h"

namespace keel::layers {

nlohmann::json to_json(const Size2& s) { return nlohmann::json::array({s.h, s.w}); }

Size2 size2_from_json(const nlohmann::json& j) {
  if (j.is_number_integer()) return Size2(j.get<std::int64_t>());
  if (j.is_array() && j.size() == 2) return Size2(j[0].get<std::int64_t>(), j[1].get<std::int64_t>());
  throw ValueError(fmt::format("layer config: expected an int or a pair of ints, got {}", j.dump()));
}

void require_positive(const Layer& layer, const char* argument, std::int64_t value) {
  if (value <= 0)
    throw ValueError(fmt::format("{} '{}': {} must be a positive integer, got {}", layer.class_name(), layer.name(),
                                 argument, value));
}

void require_positive(const Layer& layer, const char* argument, const Size2& value) {
  if (value.h <= 0 || value.w <= 0)
    throw ValueError(fmt::format("{} '{}': {} must be positive, got ({}, {})", layer.class_name(), layer.name(), argument,
                                 value.h, value.w));
}

bool parse_padding(const Layer& layer, const std::string& padding) {
  if (padding == "valid") return false;
  if (padding == "same") return true;
  throw ValueError(fmt::format("{} '{}': padding must be 'valid' or 'same', got '{}'", layer.class_name(), layer.name(),
                               padding));
}

bool parse_data_format(const Layer& layer, const std::string& data_format) {
  if (data_format == "channels_last") return false;
  if (data_format == "channels_first") return true;
  throw ValueError(fmt::format("{} '{}': data_format must be 'channels_last' or 'channels_first', got '{}'",
                               layer.class_name(), layer.name(), data_format));
}

void restore_base_config(Layer& layer, const nlohmann::json& config) {
  if (config.contains("dtype")) layer.set_dtype(dtype_from_name(config["dtype"].get<std::string>()));
  if (config.contains("trainable")) layer.set_trainable(config["trainable"].get<bool>());
}

nlohmann::json to_json(const keel::Activation& activation) { return activation.name(); }

keel::Activation activation_from_json(const nlohmann::json& j) {
  if (j.is_null()) return keel::Activation();
  if (!j.is_string()) throw ValueError(fmt::format("layer config: an activation must be a name, got {}", j.dump()));
  return keel::Activation(j.get<std::string>());
}

}  // namespace keel::layers
