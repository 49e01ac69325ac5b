#pragma once
// UnitNormalization (Keras 3): scales each sample to unit L2 norm over `axis` (one axis or several),
// y = x / sqrt(max(Σ x², 1e-12)). No weights.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "keel/layers/layer_options.h"

namespace keel::layers {

class UnitNormalizationLayer : public Layer {
 public:
  struct Options {
    std::vector<std::int64_t> axis = {-1};
  };
  explicit UnitNormalizationLayer(Options options, std::string name = "");
  const Options& options() const { return options_; }
  nlohmann::json get_config() const override;
  static std::shared_ptr<UnitNormalizationLayer> from_config(const nlohmann::json& config);

 protected:
  void build(const Shape& input_shape) override;
  Tensor call(const Tensor& x, const CallContext& ctx) override;

 private:
  Options options_;
  std::vector<std::int64_t> axes_;  // resolved at build
};

Ref<UnitNormalizationLayer> UnitNormalization(UnitNormalizationLayer::Options options = {},
                                                          std::string name = "");

}  // namespace keel::layers
