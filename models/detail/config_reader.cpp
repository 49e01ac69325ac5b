#include "keel/models/detail/config_reader.h"

#include <fmt/format.h>

#include "keel/core/error.h"

namespace keel::models::detail {

std::pair<std::string, nlohmann::json> split_serialized(const nlohmann::json& json, std::string_view op) {
  if (!json.is_object() || !json.contains("class_name") || !json["class_name"].is_string())
    throw ValueError(fmt::format("{}: expected {{\"class_name\": ..., \"config\": {{...}}}}, got {}", op, json.dump()));
  return {json["class_name"].get<std::string>(), json.value("config", nlohmann::json::object())};
}

}  // namespace keel::models::detail
