#pragma once
// Internal to models/: reads a loss's or metric's JSON config with typed defaults, and refuses keys it
// was not asked for, so a misspelt option is a ValueError rather than silently ignored.
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

namespace keel::models::detail {

// The class name and config of a serialized {"class_name": ..., "config": {...}} object; ValueError
// naming `op` for any other shape.
std::pair<std::string, nlohmann::json> split_serialized(const nlohmann::json& json, std::string_view op);

class ConfigReader {
 public:
  // `what` names the class in messages ("CategoricalCrossentropy"). ValueError unless config is an object.
  ConfigReader(const nlohmann::json& config, std::string what);

  bool boolean(const std::string& key, bool fallback);
  double number(const std::string& key, double fallback);
  std::int64_t integer(const std::string& key, std::int64_t fallback);
  std::string string(const std::string& key, const std::string& fallback);
  // ValueError naming every key no getter asked for.
  void finish() const;

 private:
  const nlohmann::json* find(const std::string& key);

  const nlohmann::json& config_;
  std::string what_;
  std::set<std::string> used_;
};

}  // namespace keel::models::detail
