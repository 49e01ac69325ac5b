#include "keel/models/detail/keras3_layout.h"

#include <fmt/format.h>

#include <map>

namespace keel::models::detail {
namespace {

// The variables `layer` owns itself (not through a nested layer), in Keras's order: the ones created
// trainable, then the others, each in creation order (Layer.save_own_variables).
std::vector<Variable> own_variables(const layers::Layer& layer) {
  std::vector<Variable> inner;
  for (const auto& sub : layer.sublayers())
    for (const Variable& v : sub->weights()) inner.push_back(v);
  std::vector<Variable> trainable, frozen;
  for (const Variable& v : layer.weights()) {
    bool owned_by_inner = false;
    for (const Variable& i : inner) owned_by_inner = owned_by_inner || i.same_as(v);
    if (!owned_by_inner) (v.trainable() ? trainable : frozen).push_back(v);
  }
  trainable.insert(trainable.end(), frozen.begin(), frozen.end());
  return trainable;
}

void collect(const layers::Layer& layer, const std::string& path, std::vector<Keras3Group>& out) {
  out.push_back({path, own_variables(layer)});
  std::map<std::string, int> used;
  for (const auto& sub : layer.sublayers()) {
    std::string name = layers::snake_case(sub->class_name());
    int n = used[name]++;
    if (n > 0) name = fmt::format("{}_{}", name, n);
    collect(*sub, path.empty() ? "layers/" + name : path + "/layers/" + name, out);
  }
}

}  // namespace

std::vector<Keras3Group> keras3_groups(const layers::Layer& model) {
  std::vector<Keras3Group> out;
  collect(model, "", out);
  return out;
}

std::string keras3_vars_path(const Keras3Group& group) { return group.path.empty() ? "vars" : group.path + "/vars"; }

std::string keras3_variable_path(const Keras3Group& group, std::size_t index) {
  return fmt::format("{}/{}", keras3_vars_path(group), index);
}

std::vector<std::pair<std::string, Variable>> keras3_variables(const layers::Layer& model) {
  std::vector<std::pair<std::string, Variable>> out;
  for (const auto& group : keras3_groups(model))
    for (std::size_t i = 0; i < group.variables.size(); ++i)
      out.emplace_back(keras3_variable_path(group, i), group.variables[i]);
  return out;
}

}  // namespace keel::models::detail
