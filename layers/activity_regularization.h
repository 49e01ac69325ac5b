#pragma once
// ActivityRegularization (Keras 3): returns its input and, in training, adds
// (l1 · Σ|x| + l2 · Σx²) / batch size to the layer's losses (an L1L2 activity regularizer).
#include <memory>
#include <string>

#include "keel/layers/layer_options.h"

namespace keel::layers {

class ActivityRegularizationLayer : public Layer {
 public:
  struct Options {
    double l1 = 0.0;
    double l2 = 0.0;
  };
  explicit ActivityRegularizationLayer(Options options, std::string name = "");
  const Options& options() const { return options_; }
  nlohmann::json get_config() const override;
  static std::shared_ptr<ActivityRegularizationLayer> from_config(const nlohmann::json& config);

 protected:
  Tensor call(const Tensor& x, const CallContext& ctx) override;

 private:
  Options options_;
};

Ref<ActivityRegularizationLayer> ActivityRegularization(ActivityRegularizationLayer::Options options = {},
                                                                    std::string name = "");

}  // namespace keel::layers
