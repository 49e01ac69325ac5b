#pragma once
// Adam (Keras): t = iterations + 1, α = lr·sqrt(1 − β2ᵗ)/(1 − β1ᵗ), m ← β1m + (1 − β1)g,
// v ← β2v + (1 − β2)g², w ← w − α·m/(sqrt(v) + ε), ε added to the uncorrected sqrt(v).
// amsgrad: v̂ ← max(v̂, v) is used in place of v.
#include "keel/optim/optimizer.h"

namespace keel::optim {

struct AdamOptions {
  LearningRate learning_rate = 0.001;
  double beta_1 = 0.9;    // in [0, 1)
  double beta_2 = 0.999;  // in [0, 1)
  double epsilon = 1e-7;  // > 0
  bool amsgrad = false;
  std::optional<double> weight_decay = std::nullopt;
  KEEL_OPTIMIZER_SHARED_OPTIONS;
};

class Adam : public Optimizer {
 public:
  using Options = AdamOptions;
  explicit Adam(AdamOptions options = {});

  double beta_1() const { return beta_1_; }
  double beta_2() const { return beta_2_; }
  double epsilon() const { return epsilon_; }
  bool amsgrad() const { return amsgrad_; }

 protected:
  Adam(std::string class_name, CommonOptions common, double beta_1, double beta_2, double epsilon, bool amsgrad);

  static std::vector<SlotSpec> adam_slots(bool amsgrad);
  void update_step(const Tensor& gradient, const Tensor& value, const Slots& slots,
                   const StepContext& context) override;
  nlohmann::json specific_config() const override;

 private:
  double beta_1_;
  double beta_2_;
  double epsilon_;
  bool amsgrad_;
};

}  // namespace keel::optim
