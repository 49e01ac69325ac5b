#pragma once
// Rescaling (Keras): y = x * scale + offset.
#include <memory>
#include <string>

#include "keel/layers/layer_options.h"

namespace keel::layers {

class RescalingLayer : public Layer {
 public:
  struct Options {
    double scale = 1.0;
    double offset = 0.0;
  };
  explicit RescalingLayer(Options options, std::string name = "");
  const Options& options() const { return options_; }
  nlohmann::json get_config() const override;
  static std::shared_ptr<RescalingLayer> from_config(const nlohmann::json& config);

 protected:
  Tensor call(const Tensor& x, const CallContext& ctx) override;

 private:
  Options options_;
};

Ref<RescalingLayer> Rescaling(RescalingLayer::Options options = {}, std::string name = "");

}  // namespace keel::layers
