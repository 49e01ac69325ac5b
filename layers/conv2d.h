#pragma once
// Conv2D (Keras): rank-4 input, NHWC (channels_last, default) or NCHW (channels_first). The kernel
// is [kh, kw, in, filters] in both layouts (glorot_uniform), bias [filters] (zeros). Computed by
// ops::conv2d (im2col + GEMM over batch chunks, bias in the same pass).
#include <cstdint>
#include <memory>
#include <string>

#include "keel/layers/layer_options.h"

namespace keel::layers {

class Conv2DLayer : public Layer {
 public:
  struct Options {
    std::int64_t filters = 0;
    Size2 kernel_size = 0;  // required
    Size2 strides = 1;
    std::string padding = "valid";  // valid | same
    std::string data_format = "channels_last";
    Size2 dilation_rate = 1;  // > 1 only with unit strides (Keras)
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

  explicit Conv2DLayer(Options options, std::string name = "");
  const Options& options() const { return options_; }
  const Variable& kernel() const { return kernel_; }
  const Variable& bias() const { return bias_; }  // undefined without use_bias

  Shape compute_output_shape(const Shape& input_shape) const override;
  nlohmann::json get_config() const override;
  static std::shared_ptr<Conv2DLayer> from_config(const nlohmann::json& config);

 protected:
  void build(const Shape& input_shape) override;
  Tensor call(const Tensor& x, const CallContext& ctx) override;

 private:
  Options options_;
  bool same_padding_ = false, channels_first_ = false;
  Variable kernel_, bias_;
};

Ref<Conv2DLayer> Conv2D(Conv2DLayer::Options options = {}, std::string name = "");

}  // namespace keel::layers
