#pragma once
// AdamW (Keras): Adam with the decoupled weight decay on by default (0.004), w ← w − lr·wd·w
// before the Adam step.
#include "keel/optim/adam.h"

namespace keel::optim {

struct AdamWOptions {
  LearningRate learning_rate = 0.001;
  double weight_decay = 0.004;  // >= 0
  double beta_1 = 0.9;
  double beta_2 = 0.999;
  double epsilon = 1e-7;
  bool amsgrad = false;
  KEEL_OPTIMIZER_SHARED_OPTIONS;
};

class AdamW : public Adam {
 public:
  using Options = AdamWOptions;
  explicit AdamW(AdamWOptions options = {});
};

}  // namespace keel::optim
