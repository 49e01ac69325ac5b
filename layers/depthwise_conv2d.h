#pragma once
// DepthwiseConv2D (Keras): each input channel convolved with its own depth_multiplier filters, rank-4 input,
// NHWC (channels_last, default) or NCHW. Weights: depthwise_kernel [kh, kw, in, depth_multiplier]
// (glorot_uniform) in both layouts, then bias [in * depth_multiplier] (zeros); output channel
// c * depth_multiplier + m comes from input channel c. Computed by ops::depthwise_conv2d (a direct kernel).
#include <cstdint>
#include <memory>
#include <string>

#include "keel/layers/layer_options.h"

namespace keel::layers {

class DepthwiseConv2DLayer : public Layer {
 public:
  struct Options {
    Size2 kernel_size = 0;  // required
    Size2 strides = 1;
    std::string padding = "valid";  // valid | same
    std::int64_t depth_multiplier = 1;
    std::string data_format = "channels_last";
    Size2 dilation_rate = 1;  // > 1 only with unit strides (Keras)
    keel::Activation activation = {};
    bool use_bias = true;
    Initializer depthwise_initializer = "glorot_uniform";
    Initializer bias_initializer = "zeros";
    Regularizer depthwise_regularizer = {};
    Regularizer bias_regularizer = {};
    Regularizer activity_regularizer = {};
    Constraint depthwise_constraint = {};
    Constraint bias_constraint = {};
  };

  explicit DepthwiseConv2DLayer(Options options, std::string name = "");
  const Options& options() const { return options_; }
  const Variable& depthwise_kernel() const { return depthwise_kernel_; }
  const Variable& bias() const { return bias_; }  // undefined without use_bias

  Shape compute_output_shape(const Shape& input_shape) const override;
  nlohmann::json get_config() const override;
  static std::shared_ptr<DepthwiseConv2DLayer> from_config(const nlohmann::json& config);

 protected:
  void build(const Shape& input_shape) override;
  Tensor call(const Tensor& x, const CallContext& ctx) override;

 private:
  Options options_;
  bool same_padding_ = false, channels_first_ = false;
  Variable depthwise_kernel_, bias_;
};

Ref<DepthwiseConv2DLayer> DepthwiseConv2D(DepthwiseConv2DLayer::Options options = {},
                                                      std::string name = "");

}  // namespace keel::layers
