#pragma once
// SGD with optional momentum and Nesterov (Keras): m ← μm − lr·g; w ← w + m
// (nesterov: w ← w + μm − lr·g with the new m). With μ = 0 there is no slot: w ← w − lr·g.
#include "keel/optim/optimizer.h"

namespace keel::optim {

struct SGDOptions {
  LearningRate learning_rate = 0.01;
  double momentum = 0.0;  // in [0, 1]
  bool nesterov = false;
  std::optional<double> weight_decay = std::nullopt;
  KEEL_OPTIMIZER_SHARED_OPTIONS;
};

class SGD : public Optimizer {
 public:
  using Options = SGDOptions;
  explicit SGD(SGDOptions options = {});

  double momentum() const { return momentum_; }
  bool nesterov() const { return nesterov_; }

 protected:
  void update_step(const Tensor& gradient, const Tensor& value, const Slots& slots,
                   const StepContext& context) override;
  nlohmann::json specific_config() const override;

 private:
  double momentum_;
  bool nesterov_;
};

}  // namespace keel::optim
