#include "keel/models/detail/keras3_weights.h"

#include <fmt/format.h>

#include <set>
#include <vector>

#include "keel/autograd/grad_mode.h"
#include "keel/core/error.h"
#include "keel/models/detail/keras3_layout.h"
#include "keel/models/detail/keras3_optimizer.h"
#include "keel/models/model.h"

namespace keel::models::detail {
namespace {

using io::hdf5::Group;

// The group at `path` ("a/b/c"), creating what is missing.
Group make_groups(const Group& root, const std::string& path) {
  Group g = root;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t slash = path.find('/', start);
    if (slash == std::string::npos) slash = path.size();
    const std::string part = path.substr(start, slash - start);
    g = g.has_group(part) ? g.group(part) : g.create_group(part);
    start = slash + 1;
  }
  return g;
}

}  // namespace

std::string keras3_weights_file_bytes(const Model& model, bool include_optimizer, const std::string& name) {
  io::hdf5::File file = io::hdf5::File::create_in_memory(name);
  const Group root = file.root();
  for (const auto& group : keras3_groups(model)) {
    Group vars = make_groups(root, keras3_vars_path(group));
    for (std::size_t i = 0; i < group.variables.size(); ++i)
      vars.write_dataset(std::to_string(i), group.variables[i].value().contiguous());
  }
  if (include_optimizer && model.compiled()) write_keras3_optimizer(model, root);
  return file.image();
}

void load_keras3_weights(Model& model, const io::hdf5::File& file, bool restore_optimizer) {
  const Group root = file.root();
  const auto groups = keras3_groups(model);
  std::vector<std::string> problems;
  std::vector<std::pair<Variable, Tensor>> values;
  std::set<std::string> expected_paths;
  for (const auto& group : groups) expected_paths.insert(group.path);
  for (const auto& group : groups) {
    // Containers: every layer group the file holds must be one the model has.
    const std::string layers_path = group.path.empty() ? "layers" : group.path + "/layers";
    if (root.has_group(layers_path))
      for (const std::string& child : root.group(layers_path).children())
        if (!expected_paths.count(layers_path + "/" + child))
          problems.push_back(fmt::format("group '{}/{}' is for a layer the model does not have", layers_path, child));
    if (group.variables.empty()) continue;
    const std::string vars_path = keras3_vars_path(group);
    if (!root.has_group(vars_path)) {
      problems.push_back(fmt::format("group '{}' with {} variable(s) is missing", vars_path, group.variables.size()));
      continue;
    }
    const Group vars = root.group(vars_path);
    const std::size_t held = vars.children().size();
    if (held != group.variables.size()) {
      problems.push_back(fmt::format("group '{}' holds {} dataset(s) but the layer has {} variable(s)", vars_path, held,
                                     group.variables.size()));
      continue;
    }
    for (std::size_t i = 0; i < group.variables.size(); ++i) {
      const Variable& v = group.variables[i];
      const std::string name = std::to_string(i);
      const std::string path = keras3_variable_path(group, i);
      if (!vars.has_dataset(name)) {
        problems.push_back(fmt::format("dataset '{}' ({}) is missing", path, v.name()));
        continue;
      }
      const io::hdf5::DatasetInfo info = vars.dataset_info(name);
      if (info.shape != v.shape())
        problems.push_back(fmt::format("dataset '{}' ({}) has shape {} in the file but {} in the model", path, v.name(),
                                       to_string(info.shape), to_string(v.shape())));
      else if (!info.dtype)
        problems.push_back(fmt::format("dataset '{}' ({}) is not float32 or float64", path, v.name()));
    }
  }
  std::optional<Keras3OptimizerState> optimizer_state;
  if (restore_optimizer) optimizer_state = read_keras3_optimizer(model, root, problems);
  if (problems.empty())
    for (const auto& group : groups) {
      if (group.variables.empty()) continue;
      const Group vars = root.group(keras3_vars_path(group));
      for (std::size_t i = 0; i < group.variables.size(); ++i) {
        const Variable& v = group.variables[i];
        values.emplace_back(v, vars.read_dataset(std::to_string(i), v.shape(), v.dtype()));
      }
    }
  if (!problems.empty()) {
    std::string all;
    for (const auto& p : problems) all += "\n  " + p;
    throw IOError(fmt::format("load: '{}' does not match model '{}':{}", file.name(), model.name(), all));
  }
  if (optimizer_state) restore_keras3_optimizer(model, *optimizer_state);
  NoGrad no_grad;
  for (const auto& [v, value] : values) v.assign(value);
}

}  // namespace keel::models::detail
