#include "keel/models/detail/config_reader.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>
#include <vector>

#include "keel/core/error.h"

namespace keel::models::detail {

std::pair<std::string, nlohmann::json> split_serialized(const nlohmann::json& json, std::string_view op) {
  if (!json.is_object() || !json.contains("class_name") || !json["class_name"].is_string())
    throw ValueError(fmt::format("{}: expected {{\"class_name\": ..., \"config\": {{...}}}}, got {}", op, json.dump()));
  return {json["class_name"].get<std::string>(), json.value("config", nlohmann::json::object())};
}

ConfigReader::ConfigReader(const nlohmann::json& config, std::string what) : config_(config), what_(std::move(what)) {
  if (!config_.is_object())
    throw ValueError(fmt::format("{}: config must be a JSON object, got {}", what_, config_.dump()));
}

const nlohmann::json* ConfigReader::find(const std::string& key) {
  used_.insert(key);
  auto it = config_.find(key);
  return it == config_.end() ? nullptr : &*it;
}

bool ConfigReader::boolean(const std::string& key, bool fallback) {
  const nlohmann::json* v = find(key);
  if (!v) return fallback;
  if (!v->is_boolean()) throw ValueError(fmt::format("{}: config key '{}' must be a boolean, got {}", what_, key, v->dump()));
  return v->get<bool>();
}

double ConfigReader::number(const std::string& key, double fallback) {
  const nlohmann::json* v = find(key);
  if (!v) return fallback;
  if (!v->is_number()) throw ValueError(fmt::format("{}: config key '{}' must be a number, got {}", what_, key, v->dump()));
  return v->get<double>();
}

std::int64_t ConfigReader::integer(const std::string& key, std::int64_t fallback) {
  const nlohmann::json* v = find(key);
  if (!v) return fallback;
  if (!v->is_number_integer())
    throw ValueError(fmt::format("{}: config key '{}' must be an integer, got {}", what_, key, v->dump()));
  return v->get<std::int64_t>();
}

std::string ConfigReader::string(const std::string& key, const std::string& fallback) {
  const nlohmann::json* v = find(key);
  if (!v) return fallback;
  if (!v->is_string()) throw ValueError(fmt::format("{}: config key '{}' must be a string, got {}", what_, key, v->dump()));
  return v->get<std::string>();
}

void ConfigReader::finish() const {
  std::vector<std::string> unknown;
  for (const auto& [key, value] : config_.items())
    if (!used_.count(key)) unknown.push_back(key);
  if (!unknown.empty())
    throw ValueError(fmt::format("{}: unknown config keys [{}]; known keys are [{}]", what_, fmt::join(unknown, ", "),
                                 fmt::join(used_, ", ")));
}

}  // namespace keel::models::detail
