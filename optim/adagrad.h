#pragma once
// Adagrad (Keras): acc starts at initial_accumulator_value; acc ← acc + g²;
// w ← w − lr·g/sqrt(acc + ε).
#include "keel/optim/optimizer.h"

namespace keel::optim {

struct AdagradOptions {
  LearningRate learning_rate = 0.001;
  double initial_accumulator_value = 0.1;  // >= 0
  double epsilon = 1e-7;                   // > 0
  std::optional<double> weight_decay = std::nullopt;
  KEEL_OPTIMIZER_SHARED_OPTIONS;
};

class Adagrad : public Optimizer {
 public:
  using Options = AdagradOptions;
  explicit Adagrad(AdagradOptions options = {});

  double initial_accumulator_value() const { return initial_accumulator_value_; }
  double epsilon() const { return epsilon_; }

 protected:
  void update_step(const Tensor& gradient, const Tensor& value, const Slots& slots,
                   const StepContext& context) override;
  nlohmann::json specific_config() const override;

 private:
  double initial_accumulator_value_;
  double epsilon_;
};

}  // namespace keel::optim
