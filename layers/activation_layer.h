#pragma once
// Activation (Keras): applies an activation by name (docs/semantics.md §7) or a registered custom one.
#include <memory>
#include <string>

#include "keel/layers/layer_options.h"

namespace keel::layers {

class ActivationLayer : public Layer {
 public:
  struct Options {
    keel::Activation activation = {};
  };
  explicit ActivationLayer(Options options, std::string name = "");
  const Options& options() const { return options_; }
  nlohmann::json get_config() const override;
  static std::shared_ptr<ActivationLayer> from_config(const nlohmann::json& config);

 protected:
  Tensor call(const Tensor& x, const CallContext& ctx) override;

 private:
  Options options_;
};

Ref<ActivationLayer> Activation(ActivationLayer::Options options = {}, std::string name = "");

}  // namespace keel::layers
