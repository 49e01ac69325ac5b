#include "keel/layers/layer_options.h"

#include <fmt/format.h>

#include "keel/core/error.h"

namespace keel::layers {

nlohmann::json to_json(const Size2& s) { return nlohmann::json::array({s.h, s.w}); }

Size2 size2_in(const config::ConfigReader& reader, const std::string& key, const nlohmann::json& value) {
  if (value.is_number_integer()) return Size2(config::integer_in(reader, key, value));
  if (value.is_array() && value.size() == 2)
    return Size2(config::integer_in(reader, key, value[0]), config::integer_in(reader, key, value[1]));
  reader.fail(key, "must be an integer or a pair of integers", value);
}

Size2 read_size2(config::ConfigReader& reader, const std::string& key, Size2 fallback) {
  const nlohmann::json& value = reader.value(key);
  return reader.contains(key) ? size2_in(reader, key, value) : fallback;
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

BaseConfig read_base_config(config::ConfigReader& reader) {
  BaseConfig base;
  base.name = reader.string("name", "");
  if (reader.contains("trainable")) base.trainable = reader.boolean("trainable", true);
  if (std::optional<std::string> dtype = reader.optional_string("dtype")) {
    if (*dtype != "float32" && *dtype != "float64" && *dtype != "mixed_bfloat16")
      reader.fail("dtype", "must be \"float32\", \"float64\" or \"mixed_bfloat16\"", *dtype);
    base.dtype = DTypePolicy::from_name(*dtype);
  }
  return base;
}

std::optional<std::uint64_t> read_seed(config::ConfigReader& reader, const std::string& key) {
  const nlohmann::json& value = reader.value(key);
  if (value.is_null()) return std::nullopt;
  if (value.is_number_unsigned()) return value.get<std::uint64_t>();
  if (value.is_number_integer() && value.get<std::int64_t>() >= 0) return static_cast<std::uint64_t>(value.get<std::int64_t>());
  reader.fail(key, "must be a non-negative integer or null", value);
}

nlohmann::json to_json(const keel::Activation& activation) { return activation.name(); }

keel::Activation read_activation(config::ConfigReader& reader, const std::string& key) {
  if (std::optional<std::string> name = reader.optional_string(key)) return keel::Activation(*name);
  return keel::Activation();
}

}  // namespace keel::layers
