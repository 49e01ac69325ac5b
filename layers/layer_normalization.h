#pragma once
// LayerNormalization (Keras 3): each sample is normalized over `axis` (one axis or several, -1 by
// default) with its own statistics, y = (x − mean) / sqrt(var + epsilon) · gamma + beta, the same in
// training and inference. Weights `gamma` (scale) then `beta` (center), of the sizes of the listed axes
// in the order given. With rms_scaling, y = x / sqrt(var + epsilon) · gamma and there is no beta (Keras 3
// divides by the standard deviation here, not by the root mean square, and does not subtract the mean).
// Normalizing the last axis alone runs fused kernels (core/kernels/layer_norm.h); other axis sets and
// rms_scaling are composed from float64 ops.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "keel/layers/layer_options.h"

namespace keel::layers {

class LayerNormalizationLayer : public Layer {
 public:
  struct Options {
    std::vector<std::int64_t> axis = {-1};
    double epsilon = 1e-3;
    bool center = true;
    bool scale = true;
    bool rms_scaling = false;
    Initializer beta_initializer = "zeros";
    Initializer gamma_initializer = "ones";
    Regularizer beta_regularizer = {};
    Regularizer gamma_regularizer = {};
    Constraint beta_constraint = {};
    Constraint gamma_constraint = {};
  };
  explicit LayerNormalizationLayer(Options options, std::string name = "");
  const Options& options() const { return options_; }
  // Undefined when the option is off.
  const Variable& gamma() const { return gamma_; }
  const Variable& beta() const { return beta_; }
  nlohmann::json get_config() const override;
  static std::shared_ptr<LayerNormalizationLayer> from_config(const nlohmann::json& config);

 protected:
  void build(const Shape& input_shape) override;
  Tensor call(const Tensor& x, const CallContext& ctx) override;

 private:
  Tensor composed(const Tensor& x) const;

  Options options_;
  std::vector<std::int64_t> axes_;  // resolved and sorted at build
  Variable gamma_, beta_;
};

Ref<LayerNormalizationLayer> LayerNormalization(LayerNormalizationLayer::Options options = {},
                                                            std::string name = "");

}  // namespace keel::layers
