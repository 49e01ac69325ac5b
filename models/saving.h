#pragma once
// Weights under structural paths (docs/semantics.md §8): the weights a layer owns are keyed by their
// short name, and a container's inner layers nest as "layers/<index>/...", e.g.
// "layers/3/layers/0/kernel". Auto-generated names never appear in a path, so a rebuilt model
// with other names loads the same file.
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "keel/autograd/variable.h"
#include "keel/layers/layer.h"

namespace keel {

std::vector<std::pair<std::string, Variable>> structural_weights(const layers::Layer& root);

// Makes the model classes (Sequential) known to the layer registry, so nested models deserialize.
void register_model_classes();

class Model;
// load_model on a file's bytes already in memory; `path` names the file in every IOError.
std::shared_ptr<Model> load_model_from_bytes(std::span<const std::byte> bytes, const std::string& path);

}  // namespace keel
