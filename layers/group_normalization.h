#pragma once
// GroupNormalization (Keras 3): the channels on `axis` are split into `groups` consecutive groups, and
// each sample's group is normalized over its channels and every other non-batch axis,
// y = (x − mean) / sqrt(var + epsilon) · gamma + beta, the same in training and inference. gamma and
// beta are per channel ([C]), in that order. groups = C is InstanceNormalization; groups = 1 normalizes
// each sample as a whole. Fused kernels (core/kernels/group_norm.h): statistics per (sample, group) in
// double from shifted block sums, bitwise the same on any thread count.
#include <cstdint>
#include <memory>
#include <string>

#include "keel/layers/layer_options.h"

namespace keel::layers {

class GroupNormalizationLayer : public Layer {
 public:
  struct Options {
    std::int64_t groups = 32;  // must divide the channel count
    std::int64_t axis = -1;
    double epsilon = 1e-3;
    bool center = true;
    bool scale = true;
    Initializer beta_initializer = "zeros";
    Initializer gamma_initializer = "ones";
    Regularizer beta_regularizer = {};
    Regularizer gamma_regularizer = {};
    Constraint beta_constraint = {};
    Constraint gamma_constraint = {};
  };
  explicit GroupNormalizationLayer(Options options, std::string name = "");
  const Options& options() const { return options_; }
  // Undefined when the option is off.
  const Variable& gamma() const { return gamma_; }
  const Variable& beta() const { return beta_; }
  nlohmann::json get_config() const override;
  static std::shared_ptr<GroupNormalizationLayer> from_config(const nlohmann::json& config);

 protected:
  void build(const Shape& input_shape) override;
  Tensor call(const Tensor& x, const CallContext& ctx) override;

 private:
  Options options_;
  std::int64_t axis_ = 0;  // non-negative, set at build
  Variable gamma_, beta_;
};

Ref<GroupNormalizationLayer> GroupNormalization(GroupNormalizationLayer::Options options = {},
                                                            std::string name = "");

}  // namespace keel::layers
