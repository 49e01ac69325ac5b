#pragma once
// Conv1D (Keras): rank-3 input [batch, steps, channels] (channels_last, default) or [batch, channels, steps].
// Kernel [kernel_size, in / groups, filters] (glorot_uniform), bias [filters] (zeros). "causal" padding
// pads dilation_rate * (kernel_size - 1) zeros before the sequence only, so output t sees inputs <= t.
// With groups > 1, input channel group g feeds filters group g. Computed by ops::conv2d on a height-1 view.
#include <cstdint>
#include <memory>
#include <string>

#include "keel/layers/layer_options.h"

namespace keel::layers {

class Conv1DLayer : public Layer {
 public:
  struct Options {
    std::int64_t filters = 0;      // required
    std::int64_t kernel_size = 0;  // required
    std::int64_t strides = 1;
    std::string padding = "valid";  // valid | same | causal
    std::string data_format = "channels_last";
    std::int64_t dilation_rate = 1;  // > 1 only with strides 1 (Keras)
    std::int64_t groups = 1;         // divides the input channels and filters
    keel::Activation activation = {};
    bool use_bias = true;
    Initializer kernel_initializer = "glorot_uniform";
    Initializer bias_initializer = "zeros";
    Regularizer kernel_regularizer = {};
    Regularizer bias_regularizer = {};
    Regularizer activity_regularizer = {};
    Constraint kernel_constraint = {};
    Constraint bias_constraint = {};
  };

  explicit Conv1DLayer(Options options, std::string name = "");
  const Options& options() const { return options_; }
  const Variable& kernel() const { return kernel_; }
  const Variable& bias() const { return bias_; }  // undefined without use_bias

  Shape compute_output_shape(const Shape& input_shape) const override;
  nlohmann::json get_config() const override;
  static std::shared_ptr<Conv1DLayer> from_config(const nlohmann::json& config);

 protected:
  void build(const Shape& input_shape) override;
  Tensor call(const Tensor& x, const CallContext& ctx) override;

 private:
  std::int64_t causal_padding() const;

  Options options_;
  bool same_padding_ = false, causal_ = false, channels_first_ = false;
  Variable kernel_, bias_;
};

Ref<Conv1DLayer> Conv1D(Conv1DLayer::Options options = {}, std::string name = "");

}  // namespace keel::layers
