#pragma once
// SeparableConv2D (Keras): a depthwise convolution (each input channel with its own depth_multiplier filters,
// no bias) followed by a pointwise 1x1 convolution to `filters` channels, then bias and activation. Rank-4
// input, NHWC (channels_last, default) or NCHW. Weights, in Keras's order: depthwise_kernel
// [kh, kw, in, depth_multiplier], pointwise_kernel [1, 1, in * depth_multiplier, filters] (both
// glorot_uniform), bias [filters] (zeros).
#include <cstdint>
#include <memory>
#include <string>

#include "keel/layers/layer_options.h"

namespace keel::layers {

class SeparableConv2DLayer : public Layer {
 public:
  struct Options {
    std::int64_t filters = 0;  // required
    Size2 kernel_size = 0;     // required
    Size2 strides = 1;
    std::string padding = "valid";  // valid | same
    std::string data_format = "channels_last";
    Size2 dilation_rate = 1;  // > 1 only with unit strides (Keras)
    std::int64_t depth_multiplier = 1;
    keel::Activation activation = {};
    bool use_bias = true;
    Initializer depthwise_initializer = "glorot_uniform";
    Initializer pointwise_initializer = "glorot_uniform";
    Initializer bias_initializer = "zeros";
    Regularizer depthwise_regularizer = {};
    Regularizer pointwise_regularizer = {};
    Regularizer bias_regularizer = {};
    Regularizer activity_regularizer = {};
    Constraint depthwise_constraint = {};
    Constraint pointwise_constraint = {};
    Constraint bias_constraint = {};
  };

  explicit SeparableConv2DLayer(Options options, std::string name = "");
  const Options& options() const { return options_; }
  const Variable& depthwise_kernel() const { return depthwise_kernel_; }
  const Variable& pointwise_kernel() const { return pointwise_kernel_; }
  const Variable& bias() const { return bias_; }  // undefined without use_bias

  Shape compute_output_shape(const Shape& input_shape) const override;
  nlohmann::json get_config() const override;
  static std::shared_ptr<SeparableConv2DLayer> from_config(const nlohmann::json& config);

 protected:
  void build(const Shape& input_shape) override;
  Tensor call(const Tensor& x, const CallContext& ctx) override;

 private:
  Options options_;
  bool same_padding_ = false, channels_first_ = false;
  Variable depthwise_kernel_, pointwise_kernel_, bias_;
};

Ref<SeparableConv2DLayer> SeparableConv2D(SeparableConv2DLayer::Options options = {},
                                                      std::string name = "");

}  // namespace keel::layers
