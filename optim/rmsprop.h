#pragma once
// RMSprop (Keras): v ← ρv + (1 − ρ)g²; centered: a ← ρa + (1 − ρ)g, denom = v − a² + ε, else
// denom = v + ε (ε inside the sqrt); step = lr·g/sqrt(denom); with momentum s ← μs + step, w ← w − s,
// else w ← w − step.
#include "keel/optim/optimizer.h"

namespace keel::optim {

struct RMSpropOptions {
  LearningRate learning_rate = 0.001;
  double rho = 0.9;       // in [0, 1)
  double momentum = 0.0;  // >= 0
  double epsilon = 1e-7;  // > 0
  bool centered = false;
  std::optional<double> weight_decay = std::nullopt;
  KEEL_OPTIMIZER_SHARED_OPTIONS;
};

class RMSprop : public Optimizer {
 public:
  using Options = RMSpropOptions;
  explicit RMSprop(RMSpropOptions options = {});

  double rho() const { return rho_; }
  double momentum() const { return momentum_; }
  double epsilon() const { return epsilon_; }
  bool centered() const { return centered_; }

 protected:
  static std::vector<SlotSpec> rmsprop_slots(const RMSpropOptions& options);
  void update_step(const Tensor& gradient, const Tensor& value, const Slots& slots,
                   const StepContext& context) override;
  nlohmann::json specific_config() const override;

 private:
  double rho_;
  double momentum_;
  double epsilon_;
  bool centered_;
};

}  // namespace keel::optim
