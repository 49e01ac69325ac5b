#pragma once
// Conv2DTranspose (Keras): the transpose of Conv2D (sometimes called deconvolution), rank-4 input, NHWC
// (channels_last, default) or NCHW. Kernel [kh, kw, filters, in] as Keras stores it (glorot_uniform), bias
// [filters] (zeros). Output size per spatial axis: in * stride (plus max(kernel - stride, 0) under "valid")
// without output_padding, else (in - 1) * stride + kernel - 2 * pad + output_padding with pad = kernel / 2
// under "same" and 0 under "valid" (kernel is the dilated extent). Computed by ops::conv2d_transpose.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "keel/layers/layer_options.h"

namespace keel::layers {

class Conv2DTransposeLayer : public Layer {
 public:
  struct Options {
    std::int64_t filters = 0;
    Size2 kernel_size = 0;  // required
    Size2 strides = 1;
    std::string padding = "valid";  // valid | same
    std::optional<Size2> output_padding = std::nullopt;  // each < its stride; unset: inferred
    std::string data_format = "channels_last";
    Size2 dilation_rate = 1;  // > 1 only with unit strides
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

  explicit Conv2DTransposeLayer(Options options, std::string name = "");
  const Options& options() const { return options_; }
  const Variable& kernel() const { return kernel_; }
  const Variable& bias() const { return bias_; }  // undefined without use_bias

  Shape compute_output_shape(const Shape& input_shape) const override;
  nlohmann::json get_config() const override;
  static std::shared_ptr<Conv2DTransposeLayer> from_config(const nlohmann::json& config);

 protected:
  void build(const Shape& input_shape) override;
  Tensor call(const Tensor& x, const CallContext& ctx) override;

 private:
  Options options_;
  bool same_padding_ = false, channels_first_ = false;
  Variable kernel_, bias_;
};

Ref<Conv2DTransposeLayer> Conv2DTranspose(Conv2DTransposeLayer::Options options = {}, std::string name = "");

}  // namespace keel::layers
