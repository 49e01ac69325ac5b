#pragma once
// ELU (Keras 3): f(x) = x for x > 0, alpha · (exp(x) − 1) otherwise.
#include <memory>
#include <string>

#include "keel/layers/layer_options.h"

namespace keel::layers {

class ELULayer : public Layer {
 public:
  struct Options {
    double alpha = 1.0;
  };
  explicit ELULayer(Options options, std::string name = "");
  const Options& options() const { return options_; }
  nlohmann::json get_config() const override;
  static std::shared_ptr<ELULayer> from_config(const nlohmann::json& config);

 protected:
  Tensor call(const Tensor& x, const CallContext& ctx) override;

 private:
  Options options_;
};

Ref<ELULayer> ELU(ELULayer::Options options = {}, std::string name = "");

}  // namespace keel::layers
