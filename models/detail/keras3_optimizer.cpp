#include "keel/models/detail/keras3_optimizer.h"

#include <fmt/format.h>

#include <cmath>
#include <map>
#include <set>
#include <nlohmann/json.hpp>

#include "keel/core/error.h"
#include "keel/models/detail/keras3_layout.h"
#include "keel/models/model.h"
#include "keel/optim/registry.h"

namespace keel::models::detail {
namespace {

using io::hdf5::Group;

constexpr const char* kVarsPath = "optimizer/vars";

// One slot dataset: keel's state name for it ("layers/dense/vars/0/m"), the slot and its variable.
struct SlotDataset {
  std::string state_name;
  std::string slot;
  std::string variable_path;
  Variable variable;
};

// keel's slot names in the groups Keras 3.6's build() creates them in: the slots of one group are
// created variable by variable, the groups one after the other.
std::vector<std::vector<std::string>> keras_slot_groups(const optim::Optimizer& optimizer) {
  const nlohmann::json config = optimizer.get_config()["config"];
  const std::string& name = optimizer.class_name();
  std::vector<std::vector<std::string>> groups;
  if (name == "Adam" || name == "AdamW") {
    groups.push_back({"m", "v"});
    if (config.value("amsgrad", false)) groups.push_back({"v_hat"});
  } else if (name == "SGD") {
    if (config.value("momentum", 0.0) != 0.0) groups.push_back({"momentum"});
  } else if (name == "RMSprop") {
    groups.push_back({"velocity"});
    if (config.value("momentum", 0.0) > 0.0) groups.push_back({"momentum"});
    if (config.value("centered", false)) groups.push_back({"average_gradient"});
  } else if (name == "Adagrad") {
    groups.push_back({"accumulator"});
  } else {
    throw ValueError(fmt::format(
        "optimizer '{}': keel does not know the order of its variables in Keras 3 files (it knows Adam, AdamW, SGD, "
        "RMSprop and Adagrad); save without the optimizer",
        name));
  }
  return groups;
}

optim::KeyedVariables trainable_variables(const Model& model) {
  optim::KeyedVariables out;
  for (const auto& [path, v] : keras3_variables(model))
    if (v.trainable()) out.emplace_back(path, v);
  return out;
}

std::vector<SlotDataset> slot_datasets(const optim::Optimizer& optimizer, const optim::KeyedVariables& trainable) {
  std::vector<SlotDataset> out;
  for (const auto& slots : keras_slot_groups(optimizer))
    for (const auto& [path, v] : trainable)
      for (const std::string& slot : slots) out.push_back({path + "/" + slot, slot, path, v});
  return out;
}

bool has_learning_rate_variable(const optim::Optimizer& optimizer) {
  return !optimizer.get_config()["config"]["learning_rate"].is_object();
}

// The optimizer's state with every trainable variable's slots: those of variables it has not stepped yet
// come from a fresh optimizer of the same configuration, so they hold the slots' initial values.
std::map<std::string, Tensor> complete_state(const optim::Optimizer& optimizer, const optim::KeyedVariables& trainable,
                                             const std::vector<SlotDataset>& slots) {
  std::map<std::string, Tensor> state;
  for (auto& [name, value] : optimizer.state(trainable)) state.emplace(name, std::move(value));
  optim::KeyedVariables missing;
  std::vector<Variable> variables;
  std::set<std::string> seen;
  for (const SlotDataset& d : slots)
    if (!state.count(d.state_name) && seen.insert(d.variable_path).second) {
      missing.emplace_back(d.variable_path, d.variable);
      variables.push_back(d.variable);
    }
  if (state.size() == 1 || missing.empty()) return state;  // not stepped at all, or every slot present
  std::shared_ptr<optim::Optimizer> fresh = optim::from_config(optimizer.get_config());
  fresh->build(variables);
  for (auto& [name, value] : fresh->state(missing))
    if (name != "iterations") state.emplace(name, std::move(value));
  return state;
}

std::string describe(const SlotDataset& d) {
  return fmt::format("slot '{}' of variable '{}' ({})", d.slot, d.variable_path, d.variable.name());
}

}  // namespace

void write_keras3_optimizer(const Model& model, const Group& root) {
  const optim::Optimizer& optimizer = *model.optimizer();
  const optim::KeyedVariables trainable = trainable_variables(model);
  const std::vector<SlotDataset> slots = slot_datasets(optimizer, trainable);
  const std::map<std::string, Tensor> state = complete_state(optimizer, trainable, slots);
  Group vars = root.has_group("optimizer") ? root.group("optimizer") : root.create_group("optimizer");
  vars = vars.create_group("vars");
  std::size_t index = 0;
  auto write = [&](const Tensor& t) { vars.write_dataset(std::to_string(index++), t.contiguous()); };
  write(state.at("iterations"));
  if (has_learning_rate_variable(optimizer)) write(Tensor::scalar(optimizer.learning_rate(), DType::float32));
  if (state.size() == 1) return;  // not stepped yet: no slots
  for (const SlotDataset& d : slots) write(state.at(d.state_name));
}

std::optional<Keras3OptimizerState> read_keras3_optimizer(const Model& model, const Group& root,
                                                          std::vector<std::string>& problems) {
  if (!model.compiled() || !model.optimizer() || !root.has_group(kVarsPath)) return std::nullopt;
  const optim::Optimizer& optimizer = *model.optimizer();
  const Group vars = root.group(kVarsPath);
  Keras3OptimizerState out;
  out.variables = trainable_variables(model);
  std::vector<SlotDataset> slots;
  try {
    slots = slot_datasets(optimizer, out.variables);
  } catch (const ValueError& e) {
    problems.push_back(fmt::format("group '{}': {}", kVarsPath, e.what()));
    return std::nullopt;
  }
  const bool with_rate = has_learning_rate_variable(optimizer);
  const std::size_t header = with_rate ? 2 : 1;
  const std::size_t held = vars.children().size();
  const std::size_t before = problems.size();
  auto dataset_name = [&](std::size_t i) { return fmt::format("{}/{}", kVarsPath, i); };
  if (held != header && held != header + slots.size()) {
    std::string detail;
    if (held < header)
      detail = fmt::format("dataset '{}' ({}) is missing", dataset_name(held), held == 0 ? "iterations" : "learning_rate");
    else if (held < header + slots.size())
      detail = fmt::format("dataset '{}' ({}) is missing", dataset_name(held), describe(slots[held - header]));
    else
      detail = fmt::format("dataset '{}' is beyond the last variable", dataset_name(header + slots.size()));
    problems.push_back(fmt::format(
        "group '{}' holds {} dataset(s) but the model's {} optimizer has {} ({} with its slots for the {} trainable "
        "variable(s)): {}",
        kVarsPath, held, optimizer.class_name(), header, header + slots.size(), out.variables.size(), detail));
    return std::nullopt;
  }
  auto check = [&](std::size_t i, const Shape& shape, bool integer, const std::string& what) {
    const std::string name = std::to_string(i);
    if (!vars.has_dataset(name)) {
      problems.push_back(fmt::format("dataset '{}' ({}) is missing", dataset_name(i), what));
      return;
    }
    const io::hdf5::DatasetInfo info = vars.dataset_info(name);
    if (info.shape != shape)
      problems.push_back(fmt::format("dataset '{}' ({}) has shape {} in the file but {} in the model", dataset_name(i),
                                     what, to_string(info.shape), to_string(shape)));
    else if (integer ? !info.integer : !info.dtype)
      problems.push_back(fmt::format("dataset '{}' ({}) is not {}", dataset_name(i), what,
                                     integer ? "an integer" : "float32 or float64"));
  };
  check(0, {}, true, "iterations");
  if (with_rate) check(1, {}, false, "learning_rate");
  const bool with_slots = held > header;
  if (with_slots)
    for (std::size_t i = 0; i < slots.size(); ++i) check(header + i, slots[i].variable.shape(), false, describe(slots[i]));
  if (problems.size() != before) return std::nullopt;

  const Tensor iterations = vars.read_dataset("0", {}, DType::int64);
  const double count = iterations.item();
  if (!(count >= 0 && count <= static_cast<double>(optim::kMaxIterations))) {
    problems.push_back(fmt::format("dataset '{}' (iterations) holds {}, outside [0, 2^53]", dataset_name(0), count));
    return std::nullopt;
  }
  out.snapshot.emplace_back("iterations", iterations);
  if (with_rate) {
    out.learning_rate = vars.read_dataset("1", {}, DType::float64).item();
    if (!(*out.learning_rate > 0 && std::isfinite(*out.learning_rate))) {
      problems.push_back(fmt::format("dataset '{}' (learning_rate) holds {}, not a finite rate > 0", dataset_name(1),
                                     *out.learning_rate));
      return std::nullopt;
    }
  }
  if (with_slots)
    for (std::size_t i = 0; i < slots.size(); ++i)
      out.snapshot.emplace_back(slots[i].state_name, vars.read_dataset(std::to_string(header + i),
                                                                       slots[i].variable.shape(),
                                                                       slots[i].variable.dtype()));
  return out;
}

void restore_keras3_optimizer(const Model& model, const Keras3OptimizerState& state) {
  optim::Optimizer& optimizer = *model.optimizer();
  optimizer.load_state(state.snapshot, state.variables);
  if (state.learning_rate &&
      static_cast<float>(*state.learning_rate) != static_cast<float>(optimizer.learning_rate()))
    optimizer.set_learning_rate(*state.learning_rate);
}

}  // namespace keel::models::detail
