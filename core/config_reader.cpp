#include "keel/core/config_reader.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <limits>

#include "keel/core/error.h"

namespace keel::config {

ConfigReader::ConfigReader(const nlohmann::json& config, std::string what) : config_(config), what_(std::move(what)) {
  if (!config_.is_object())
    throw ValueError(fmt::format("{}: the config must be a JSON object, got {}", what_, config_.dump()));
}

void ConfigReader::fail(const std::string& key, const std::string& problem, const nlohmann::json& got) const {
  throw ValueError(fmt::format("{}: config key '{}' {}, got {}", what_, key, problem, got.dump()));
}

const nlohmann::json* ConfigReader::find(const std::string& key) {
  used_.insert(key);
  auto it = config_.find(key);
  return it == config_.end() ? nullptr : &*it;
}

bool ConfigReader::boolean(const std::string& key, bool fallback) {
  const nlohmann::json* v = find(key);
  if (!v) return fallback;
  if (!v->is_boolean()) fail(key, "must be a boolean", *v);
  return v->get<bool>();
}

double ConfigReader::number(const std::string& key, double fallback) {
  const nlohmann::json* v = find(key);
  if (!v) return fallback;
  if (!v->is_number()) fail(key, "must be a number", *v);
  return v->get<double>();
}

std::int64_t integer_in(const ConfigReader& reader, const std::string& key, const nlohmann::json& value) {
  if (!value.is_number_integer()) reader.fail(key, "must be an integer", value);
  if (value.is_number_unsigned() &&
      value.get<std::uint64_t>() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
    reader.fail(key, "is out of range", value);
  return value.get<std::int64_t>();
}

std::int64_t ConfigReader::integer(const std::string& key, std::int64_t fallback) {
  const nlohmann::json* v = find(key);
  return v ? integer_in(*this, key, *v) : fallback;
}

std::string ConfigReader::string(const std::string& key, const std::string& fallback) {
  const nlohmann::json* v = find(key);
  if (!v) return fallback;
  if (!v->is_string()) fail(key, "must be a string", *v);
  return v->get<std::string>();
}

std::vector<std::int64_t> ConfigReader::integers(const std::string& key, const std::vector<std::int64_t>& fallback) {
  const nlohmann::json* v = find(key);
  if (!v) return fallback;
  if (!v->is_array()) fail(key, "must be a list of integers", *v);
  std::vector<std::int64_t> out;
  for (const auto& item : *v) out.push_back(integer_in(*this, key, item));
  return out;
}

std::vector<double> ConfigReader::numbers(const std::string& key, const std::vector<double>& fallback) {
  const nlohmann::json* v = find(key);
  if (!v) return fallback;
  if (!v->is_array()) fail(key, "must be a list of numbers", *v);
  std::vector<double> out;
  for (const auto& item : *v) {
    if (!item.is_number()) fail(key, "must be a list of numbers", *v);
    out.push_back(item.get<double>());
  }
  return out;
}

std::vector<std::string> ConfigReader::strings(const std::string& key, const std::vector<std::string>& fallback) {
  const nlohmann::json* v = find(key);
  if (!v) return fallback;
  if (!v->is_array()) fail(key, "must be a list of strings", *v);
  std::vector<std::string> out;
  for (const auto& item : *v) {
    if (!item.is_string()) fail(key, "must be a list of strings", *v);
    out.push_back(item.get<std::string>());
  }
  return out;
}

std::optional<double> ConfigReader::optional_number(const std::string& key) {
  if (value(key).is_null()) return std::nullopt;
  return number(key, 0.0);
}

std::optional<std::int64_t> ConfigReader::optional_integer(const std::string& key) {
  if (value(key).is_null()) return std::nullopt;
  return integer(key, 0);
}

std::optional<std::string> ConfigReader::optional_string(const std::string& key) {
  if (value(key).is_null()) return std::nullopt;
  return string(key, "");
}

const nlohmann::json& ConfigReader::value(const std::string& key) {
  static const nlohmann::json null;
  const nlohmann::json* v = find(key);
  return v ? *v : null;
}

void ConfigReader::finish() const {
  std::vector<std::string> unknown;
  for (const auto& [key, v] : config_.items())
    if (!used_.count(key)) unknown.push_back(fmt::format("'{}'", key));
  if (!unknown.empty())
    throw ValueError(fmt::format("{}: unknown config key{} {} (known keys: {})", what_, unknown.size() > 1 ? "s" : "",
                                 fmt::join(unknown, ", "), fmt::join(used_, ", ")));
}

}  // namespace keel::config
