#pragma once
// The optimizer base (Keras's BaseOptimizer, docs/semantics.md §6). One step, in this order:
//   clip the gradients → decoupled weight decay → update → iterations += 1 → each updated
//   variable's constraint.
// Slots (moments, accumulators) are created per variable the first time it is seen, keyed by the
// Variable's identity. state() names them by a key the caller gives each variable ("<key>/m"), so a
// snapshot does not depend on the order in which variables were first seen.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "keel/autograd/variable.h"
#include "keel/core/tensor.h"
#include "keel/optim/learning_rate.h"

namespace keel::optim {

// The options every optimizer takes. Each optimizer's Options struct has the same fields (so
// designated initializers can name them) and hands them over with common_options(options).
struct CommonOptions {
  LearningRate learning_rate = 0.001;
  // Decoupled: w ← w − lr·weight_decay·w before the update.
  std::optional<double> weight_decay;
  // At most one of the three clipping options.
  std::optional<double> clipnorm;         // per tensor: g·c / max(‖g‖, c)
  std::optional<double> clipvalue;        // clip(g, −c, c)
  std::optional<double> global_clipnorm;  // all tensors: g·c / max(‖(g₁, g₂, …)‖, c)
  // Variables whose name contains any of these strings are not decayed.
  std::vector<std::string> exclude_from_weight_decay;
};

// The clipping and exclusion fields of CommonOptions, spelled into each optimizer's Options struct
// after its weight_decay (designated initializers cannot name the fields of a base struct).
// Every field has an initializer so `{.learning_rate = ...}` does not trip -Wmissing-field-initializers.
#define KEEL_OPTIMIZER_SHARED_OPTIONS                       \
  std::optional<double> clipnorm = std::nullopt;            \
  std::optional<double> clipvalue = std::nullopt;           \
  std::optional<double> global_clipnorm = std::nullopt;     \
  std::vector<std::string> exclude_from_weight_decay = {}

template <class Options>
CommonOptions common_options(const Options& options) {
  return {options.learning_rate, options.weight_decay,    options.clipnorm,
          options.clipvalue,     options.global_clipnorm, options.exclude_from_weight_decay};
}

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;
// Variables under the caller's keys (a model uses each weight's structural path, "layers/1/kernel").
using KeyedVariables = std::vector<std::pair<std::string, Variable>>;

// The largest iterations load_state accepts: every count up to it is exact in a double (schedules and
// bias corrections compute with the step as a double) and iterations + 1 cannot overflow.
inline constexpr std::int64_t kMaxIterations = std::int64_t{1} << 53;

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  // One step on each variable's accumulated grad(). Variables without a gradient are skipped
  // (a warning names them); if none has one it is a ValueError. Non-trainable ones are a ValueError.
  void apply(const std::vector<Variable>& variables);
  // One step with explicit gradients (undefined tensors are skipped as above).
  void apply_gradients(const std::vector<Tensor>& gradients, const std::vector<Variable>& variables);
  // Creates the slots of variables not seen yet, in order (needed before load_state on a fresh optimizer).
  void build(const std::vector<Variable>& variables);

  // Number of steps applied so far.
  std::int64_t iterations() const { return iterations_; }
  // The current rate: the constant, or the schedule at iterations().
  double learning_rate() const;
  // Replaces the rate (and any schedule) with a constant; for callbacks.
  void set_learning_rate(double value);

  // "Adam", "SGD", ... (the get_config class_name).
  const std::string& class_name() const { return class_name_; }
  const CommonOptions& options() const { return options_; }
  // {"class_name": ..., "config": {"name", every argument; a schedule as its get_config()}}.
  nlohmann::json get_config() const;

  // A snapshot: "iterations" (int64 scalar), then, in the order given, the slots of each listed variable
  // the optimizer has slots for (it has stepped it, or build() saw it), named "<key>/<slot>". Slots of
  // variables not listed are left out.
  NamedTensors state(const KeyedVariables& variables) const;
  // Restores a state(variables) snapshot: afterwards each listed variable has exactly the slots the
  // snapshot holds for it, all of them or none (it then gets fresh slots at its first step, as it would
  // have in the run the snapshot came from). ValueError naming the slot for an incomplete set of slots or
  // a name that is neither "iterations" nor a listed variable's slot, or when iterations is not an integer
  // in [0, kMaxIterations]; ShapeError naming the slot and both shapes or dtypes. Nothing is written
  // unless everything checks.
  void load_state(const NamedTensors& snapshot, const KeyedVariables& variables);

 protected:
  struct SlotSpec {
    std::string name;
    double initial_value;
  };
  struct StepContext {
    double learning_rate;
    double weight_decay_rate;  // lr·weight_decay for this variable, 0 when not decayed
    std::int64_t step;         // iterations + 1
  };

  // One variable's slots during update_step, looked up by their SlotSpec name (the name they have in
  // state() and in saved files).
  class Slots {
   public:
    Slots(const std::vector<SlotSpec>& specs, std::vector<Tensor>& tensors) : specs_(specs), tensors_(tensors) {}
    // The slot named `name`; UsageError when this optimizer keeps none by that name.
    Tensor& operator[](std::string_view name) const;
    // The slot named `name`, or nullptr (a slot an option turns off, such as Adam's v_hat without amsgrad).
    Tensor* find(std::string_view name) const;

   private:
    const std::vector<SlotSpec>& specs_;
    std::vector<Tensor>& tensors_;
  };

  // `slots`: the per-variable state this optimizer keeps, created with the variable's shape and dtype.
  Optimizer(std::string class_name, CommonOptions options, std::vector<SlotSpec> slots);

  // Argument checks that throw ValueError naming this optimizer, the argument and the value.
  void require_positive(const char* argument, double value) const;
  void require_non_negative(const char* argument, double value) const;
  void require_in_unit_interval(const char* argument, double value) const;       // [0, 1)
  void require_in_closed_unit_interval(const char* argument, double value) const;  // [0, 1]

  // Updates `value` in place from a contiguous `gradient` of its dtype, and its (contiguous) slots.
  // Runs under NoGrad.
  virtual void update_step(const Tensor& gradient, const Tensor& value, const Slots& slots,
                           const StepContext& context) = 0;
  // The optimizer's own arguments, added to get_config()'s "config".
  virtual nlohmann::json specific_config() const = 0;

 private:
  struct Entry {
    Variable variable;
    std::vector<Tensor> slots;
  };
  Entry& entry_for(const Variable& variable);
  const Entry* find_entry(const Variable& variable) const;
  static std::string slot_key(const std::string& variable_key, const std::string& slot);
  std::int64_t checked_iterations(const Tensor& stored) const;
  bool decays(const Variable& variable) const;

  std::string class_name_;
  CommonOptions options_;
  std::vector<SlotSpec> slot_specs_;
  std::int64_t iterations_ = 0;
  std::vector<Entry> entries_;
  std::unordered_map<const Storage*, std::size_t> entry_index_;
  bool warned_missing_gradients_ = false;
};

}  // namespace keel::optim
