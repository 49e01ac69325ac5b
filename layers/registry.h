#pragma once
// Rebuilding layers from their serialized form ({"class_name": ..., "config": {...}}) over a fixed
// allow-list of keel's layer classes, plus the classes a program registers explicitly.
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "keel/layers/layer.h"

namespace keel::layers {

using LayerFactory = std::function<LayerPtr(const nlohmann::json& config)>;

// An unknown or missing class_name is a ValueError naming it (model loading reports it as IOError).
LayerPtr deserialize(const nlohmann::json& serialized);

// The class names deserialize accepts: keel's built-in layers, then the registered classes, each sorted.
std::vector<std::string> known_classes();

// Makes a user-defined layer class loadable. Replacing a built-in class is a ValueError.
void register_layer(const std::string& class_name, LayerFactory factory);

}  // namespace keel::layers
