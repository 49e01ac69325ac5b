#include "keel/optim/optimizer.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <set>
#include <nlohmann/json.hpp>

#include "keel/autograd/grad_mode.h"
#include "keel/core/error.h"
#include "keel/core/log.h"
#include "keel/optim/detail/clipping.h"

namespace keel::optim {
namespace {

nlohmann::json optional_json(const std::optional<double>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

std::string lowercase(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

Tensor* Optimizer::Slots::find(std::string_view name) const {
  for (std::size_t s = 0; s < specs_.size(); ++s)
    if (specs_[s].name == name) return &tensors_[s];
  return nullptr;
}

Tensor& Optimizer::Slots::operator[](std::string_view name) const {
  if (Tensor* slot = find(name)) return *slot;
  std::vector<std::string> known;
  for (const SlotSpec& spec : specs_) known.push_back(spec.name);
  throw UsageError(fmt::format("optimizer: no slot named '{}' (its slots: {})", name, fmt::join(known, ", ")));
}

Optimizer::Optimizer(std::string class_name, CommonOptions options, std::vector<SlotSpec> slots)
    : class_name_(std::move(class_name)), options_(std::move(options)), slot_specs_(std::move(slots)) {
  // A null schedule reads as the constant 0 and is refused here.
  if (!options_.learning_rate.is_schedule()) require_positive("learning_rate", options_.learning_rate.at(0));
  if (options_.weight_decay) require_non_negative("weight_decay", *options_.weight_decay);
  std::vector<std::string> clipping;
  for (auto [name, value] : {std::pair{"clipnorm", options_.clipnorm}, std::pair{"clipvalue", options_.clipvalue},
                             std::pair{"global_clipnorm", options_.global_clipnorm}}) {
    if (!value) continue;
    require_positive(name, *value);
    clipping.emplace_back(name);
  }
  if (clipping.size() > 1)
    throw ValueError(fmt::format("{}: only one of clipnorm, clipvalue and global_clipnorm can be set, got {}",
                                 class_name_, fmt::join(clipping, " and ")));
}

void Optimizer::require_positive(const char* argument, double value) const {
  if (!(value > 0.0) || !std::isfinite(value))
    throw ValueError(fmt::format("{}: {} must be a positive finite number, got {}", class_name_, argument, value));
}

void Optimizer::require_non_negative(const char* argument, double value) const {
  if (!(value >= 0.0) || !std::isfinite(value))
    throw ValueError(fmt::format("{}: {} must be >= 0 and finite, got {}", class_name_, argument, value));
}

void Optimizer::require_in_unit_interval(const char* argument, double value) const {
  if (!(value >= 0.0 && value < 1.0))
    throw ValueError(fmt::format("{}: {} must be in [0, 1), got {}", class_name_, argument, value));
}

void Optimizer::require_in_closed_unit_interval(const char* argument, double value) const {
  if (!(value >= 0.0 && value <= 1.0))
    throw ValueError(fmt::format("{}: {} must be in [0, 1], got {}", class_name_, argument, value));
}

double Optimizer::learning_rate() const { return options_.learning_rate.at(iterations_); }

void Optimizer::set_learning_rate(double value) {
  require_positive("learning_rate", value);
  options_.learning_rate = LearningRate(value);
}

Optimizer::Entry& Optimizer::entry_for(const Variable& variable) {
  const Storage* key = variable.value().storage().get();
  if (auto it = entry_index_.find(key); it != entry_index_.end()) return entries_[it->second];
  if (!variable.value().is_contiguous())
    throw ValueError(fmt::format("{}: variable '{}' is not contiguous", class_name_, variable.name()));
  Entry entry{variable, {}};
  for (const SlotSpec& spec : slot_specs_)
    entry.slots.push_back(Tensor::full(variable.shape(), spec.initial_value, variable.dtype()));
  entry_index_.emplace(key, entries_.size());
  entries_.push_back(std::move(entry));
  return entries_.back();
}

void Optimizer::build(const std::vector<Variable>& variables) {
  for (const Variable& v : variables) entry_for(v);
}

bool Optimizer::decays(const Variable& variable) const {
  if (!options_.weight_decay || *options_.weight_decay == 0.0) return false;
  return std::none_of(options_.exclude_from_weight_decay.begin(), options_.exclude_from_weight_decay.end(),
                      [&](const std::string& part) { return variable.name().find(part) != std::string::npos; });
}

void Optimizer::apply(const std::vector<Variable>& variables) {
  std::vector<Tensor> gradients;
  gradients.reserve(variables.size());
  for (const Variable& v : variables) gradients.push_back(v.defined() ? v.grad() : Tensor());
  apply_gradients(gradients, variables);
}

void Optimizer::apply_gradients(const std::vector<Tensor>& gradients, const std::vector<Variable>& variables) {
  if (gradients.size() != variables.size())
    throw ValueError(fmt::format("{}: got {} gradients for {} variables", class_name_, gradients.size(),
                                 variables.size()));
  if (variables.empty()) return;

  std::vector<Tensor> grads;
  std::vector<Variable> vars;
  std::vector<std::string> missing;
  for (std::size_t i = 0; i < variables.size(); ++i) {
    const Variable& v = variables[i];
    if (!v.defined()) throw ValueError(fmt::format("{}: variable {} is undefined", class_name_, i));
    if (!v.trainable())
      throw ValueError(fmt::format("{}: variable '{}' is not trainable and cannot be optimized", class_name_, v.name()));
    const Tensor& g = gradients[i];
    if (!g.defined()) {
      missing.push_back(v.name());
      continue;
    }
    if (g.shape() != v.shape())
      throw ShapeError(fmt::format("{}: the gradient of variable '{}' has shape {} but the variable has shape {}",
                                   class_name_, v.name(), to_string(g.shape()), to_string(v.shape())));
    Tensor grad = (g.dtype() == v.dtype() ? g : g.to(v.dtype())).contiguous();
    // The update kernels take their arrays as non-aliasing.
    if (grad.shares_storage_with(v.value())) grad = grad.clone();
    grads.push_back(grad);
    vars.push_back(v);
  }
  if (vars.empty())
    throw ValueError(fmt::format("{}: no gradients provided for any variable ({})", class_name_, fmt::join(missing, ", ")));
  if (!missing.empty() && !warned_missing_gradients_) {
    warned_missing_gradients_ = true;
    log::warn(fmt::format("{}: gradients do not exist for variables {}; they are not updated", class_name_,
                          fmt::join(missing, ", ")));
  }

  NoGrad no_grad;
  if (options_.clipnorm) {
    for (Tensor& g : grads) g = clip_by_norm(g, *options_.clipnorm);
  } else if (options_.clipvalue) {
    for (Tensor& g : grads) g = clip_by_value(g, *options_.clipvalue);
  } else if (options_.global_clipnorm) {
    grads = clip_by_global_norm(grads, *options_.global_clipnorm);
  }

  const double lr = learning_rate();
  for (std::size_t i = 0; i < vars.size(); ++i) {
    Entry& entry = entry_for(vars[i]);
    StepContext context{lr, decays(vars[i]) ? lr * *options_.weight_decay : 0.0, iterations_ + 1};
    update_step(grads[i], vars[i].value(), Slots(slot_specs_, entry.slots), context);
    vars[i].value().storage()->bump_version();
  }
  ++iterations_;
  for (const Variable& v : vars) v.apply_constraint();
}

nlohmann::json Optimizer::get_config() const {
  nlohmann::json config = {{"name", lowercase(class_name_)},
                           {"learning_rate", options_.learning_rate.to_json()},
                           {"weight_decay", optional_json(options_.weight_decay)},
                           {"clipnorm", optional_json(options_.clipnorm)},
                           {"clipvalue", optional_json(options_.clipvalue)},
                           {"global_clipnorm", optional_json(options_.global_clipnorm)},
                           {"exclude_from_weight_decay", options_.exclude_from_weight_decay}};
  config.update(specific_config());
  return {{"class_name", class_name_}, {"config", config}};
}

const Optimizer::Entry* Optimizer::find_entry(const Variable& variable) const {
  auto it = entry_index_.find(variable.value().storage().get());
  return it == entry_index_.end() ? nullptr : &entries_[it->second];
}

NamedTensors Optimizer::state(const KeyedVariables& variables) const {
  NamedTensors out;
  out.emplace_back("iterations", Tensor::scalar(static_cast<double>(iterations_), DType::int64));
  for (const auto& [key, variable] : variables) {
    const Entry* entry = find_entry(variable);
    if (!entry) continue;
    for (std::size_t s = 0; s < slot_specs_.size(); ++s)
      out.emplace_back(slot_key(key, slot_specs_[s].name), entry->slots[s].clone());
  }
  return out;
}

void Optimizer::load_state(const NamedTensors& snapshot, const KeyedVariables& variables) {
  std::map<std::string, Tensor> given;
  for (const auto& [name, tensor] : snapshot)
    if (!given.emplace(name, tensor).second)
      throw ValueError(fmt::format("{}.load_state: slot '{}' appears twice", class_name_, name));
  auto stored_iterations = given.find("iterations");
  if (stored_iterations == given.end())
    throw ValueError(fmt::format("{}.load_state: the state has no 'iterations'", class_name_));
  const std::int64_t iterations = checked_iterations(stored_iterations->second);

  std::set<std::string> claimed{"iterations"};
  std::vector<Entry> restored;
  for (const auto& [key, variable] : variables) {
    std::vector<std::string> present, absent;
    Entry entry{variable, {}};
    for (const SlotSpec& spec : slot_specs_) {
      std::string name = slot_key(key, spec.name);
      auto it = given.find(name);
      if (it == given.end()) {
        absent.push_back(name);
        continue;
      }
      const Tensor& value = it->second;
      if (!value.defined() || value.shape() != variable.shape() || value.dtype() != variable.dtype())
        throw ShapeError(fmt::format("{}.load_state: slot '{}' is {} {} in the state but the variable is {} {}",
                                     class_name_, name, value.defined() ? dtype_name(value.dtype()) : "undefined",
                                     value.defined() ? to_string(value.shape()) : "", dtype_name(variable.dtype()),
                                     to_string(variable.shape())));
      present.push_back(name);
      claimed.insert(name);
      entry.slots.push_back(value.clone());
    }
    if (!present.empty() && !absent.empty())
      throw ValueError(fmt::format("{}.load_state: the state has slot '{}' but not '{}'", class_name_, present[0],
                                   absent[0]));
    if (!present.empty()) restored.push_back(std::move(entry));
  }
  for (const auto& entry : given) {
    if (!claimed.count(entry.first))
      throw ValueError(fmt::format("{}.load_state: unexpected slot '{}' (neither 'iterations' nor a slot of the {} "
                                   "variables given)",
                                   class_name_, entry.first, variables.size()));
  }

  std::set<const Storage*> listed;
  for (const auto& keyed : variables) listed.insert(keyed.second.value().storage().get());
  std::vector<Entry> entries;
  for (Entry& e : entries_)
    if (!listed.count(e.variable.value().storage().get())) entries.push_back(std::move(e));
  for (Entry& e : restored) entries.push_back(std::move(e));
  entries_ = std::move(entries);
  entry_index_.clear();
  for (std::size_t i = 0; i < entries_.size(); ++i) entry_index_.emplace(entries_[i].variable.value().storage().get(), i);
  iterations_ = iterations;
}

std::string Optimizer::slot_key(const std::string& variable_key, const std::string& slot) {
  return variable_key + "/" + slot;
}

std::int64_t Optimizer::checked_iterations(const Tensor& stored) const {
  if (!stored.defined() || stored.dim() != 0)
    throw ShapeError(fmt::format("{}.load_state: iterations must be a scalar, got shape {}", class_name_,
                                 stored.defined() ? to_string(stored.shape()) : "undefined"));
  const double value = stored.item();
  if (!(value >= 0.0 && value <= static_cast<double>(kMaxIterations)) || value != std::floor(value))
    throw ValueError(fmt::format("{}.load_state: iterations must be an integer in [0, 2^53], got {}", class_name_,
                                 value));
  return static_cast<std::int64_t>(value);
}

}  // namespace keel::optim
