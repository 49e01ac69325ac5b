#pragma once
// The one strict reader of JSON configs (layers, optimizers, losses, metrics, models): typed getters
// with defaults, and a final check that refuses every key no getter asked for, so a misspelt or
// mistyped argument is a ValueError naming the class and the key instead of being ignored or truncated.
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace keel::config {

class ConfigReader {
 public:
  // `what` names the class in messages ("Conv2D"). ValueError unless config is an object.
  ConfigReader(const nlohmann::json& config, std::string what);

  // A missing key gives the fallback; a value of another type (null included) is a ValueError.
  bool boolean(const std::string& key, bool fallback);
  double number(const std::string& key, double fallback);
  // A JSON integer: 3.5 and 3.0 are refused, as are values outside int64.
  std::int64_t integer(const std::string& key, std::int64_t fallback);
  std::string string(const std::string& key, const std::string& fallback);
  std::vector<std::int64_t> integers(const std::string& key, const std::vector<std::int64_t>& fallback);
  std::vector<double> numbers(const std::string& key, const std::vector<double>& fallback);
  std::vector<std::string> strings(const std::string& key, const std::vector<std::string>& fallback);
  // Missing or null: nullopt.
  std::optional<double> optional_number(const std::string& key);
  std::optional<std::int64_t> optional_integer(const std::string& key);
  std::optional<std::string> optional_string(const std::string& key);
  // The raw value for arguments with their own JSON form (initializers, sizes, ...); null when missing.
  const nlohmann::json& value(const std::string& key);
  bool contains(const std::string& key) const { return config_.contains(key); }
  // Accepts a key without reading it.
  void ignore(const std::string& key) { used_.insert(key); }
  // ValueError naming every key no getter asked for, and the known ones.
  void finish() const;

  const std::string& what() const { return what_; }
  // A ValueError "<what>: config key '<key>' <problem>, got <value>".
  [[noreturn]] void fail(const std::string& key, const std::string& problem, const nlohmann::json& got) const;

 private:
  const nlohmann::json* find(const std::string& key);

  const nlohmann::json& config_;
  std::string what_;
  std::set<std::string> used_;
};

// One JSON integer inside a larger value (an element of a list): ValueError through `reader` naming `key`.
std::int64_t integer_in(const ConfigReader& reader, const std::string& key, const nlohmann::json& value);

}  // namespace keel::config
