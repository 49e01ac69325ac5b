#pragma once
// LeakyReLU (Keras 3): f(x) = x for x > 0, negative_slope · x otherwise. Keras 3's default slope
// is 0.3 (the `leaky_relu` activation's is 0.2).
#include <memory>
#include <string>

#include "keel/layers/layer_options.h"

namespace keel::layers {

class LeakyReLULayer : public Layer {
 public:
  struct Options {
    double negative_slope = 0.3;  // >= 0
  };
  explicit LeakyReLULayer(Options options, std::string name = "");
  const Options& options() const { return options_; }
  nlohmann::json get_config() const override;
  static std::shared_ptr<LeakyReLULayer> from_config(const nlohmann::json& config);

 protected:
  Tensor call(const Tensor& x, const CallContext& ctx) override;

 private:
  Options options_;
};

Ref<LeakyReLULayer> LeakyReLU(LeakyReLULayer::Options options = {}, std::string name = "");

}  // namespace keel::layers
