#pragma once
// Internal to models/: splits a loss's or metric's serialized form; their configs are read with the
// strict config::ConfigReader.
#include <string>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

namespace keel::models::detail {

// The class name and config of a serialized {"class_name": ..., "config": {...}} object; ValueError
// naming `op` for any other shape.
std::pair<std::string, nlohmann::json> split_serialized(const nlohmann::json& json, std::string_view op);

}  // namespace keel::models::detail
