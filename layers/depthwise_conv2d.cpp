#include "keel/layers/depthwise_conv2d.h"

#include "keel/autograd/ops.h"
#include "keel/layers/detail/conv_layer_support.h"

namespace keel::layers {

DepthwiseConv2DLayer::DepthwiseConv2DLayer(Options options, std::string name)
    : Layer("DepthwiseConv2D", std::move(name)), options_(std::move(options)) {
  require_positive(*this, "depth_multiplier", options_.depth_multiplier);
  const detail::WindowFlags flags = detail::check_window_options(*this, options_);
  same_padding_ = flags.same_padding;
  channels_first_ = flags.channels_first;
  set_activity_regularizer(options_.activity_regularizer);
}

void DepthwiseConv2DLayer::build(const Shape& input_shape) {
  compute_output_shape(input_shape);  // a bad input fails before any weight exists
  const std::int64_t channel_axis = channels_first_ ? 1 : 3;
  const std::int64_t in = input_shape[channel_axis];
  depthwise_kernel_ = add_weight("depthwise_kernel",
                                 {options_.kernel_size.h, options_.kernel_size.w, in, options_.depth_multiplier},
                                 {.initializer = options_.depthwise_initializer,
                                  .regularizer = options_.depthwise_regularizer,
                                  .constraint = options_.depthwise_constraint});
  if (options_.use_bias)
    bias_ = add_weight("bias", {in * options_.depth_multiplier},
                       {.initializer = options_.bias_initializer,
                        .regularizer = options_.bias_regularizer,
                        .constraint = options_.bias_constraint});
  set_input_spec({.ndim = 4, .axes = {{channel_axis, in}}});
}

Tensor DepthwiseConv2DLayer::call(const Tensor& x, const CallContext&) {
  compute_output_shape(x.shape());  // a too-small input is refused naming the layer
  const ops::Conv2dOptions conv{.stride_h = options_.strides.h,
                                .stride_w = options_.strides.w,
                                .dilation_h = options_.dilation_rate.h,
                                .dilation_w = options_.dilation_rate.w,
                                .same_padding = same_padding_,
                                .channels_first = channels_first_};
  return options_.activation(
      ops::depthwise_conv2d(x, depthwise_kernel_.value(), options_.use_bias ? bias_.value() : Tensor(), conv));
}

Shape DepthwiseConv2DLayer::compute_output_shape(const Shape& input_shape) const {
  detail::require_rank(*this, input_shape, 4);
  const std::int64_t in = input_shape[channels_first_ ? 1 : 3];
  return detail::windowed_output_shape(*this, input_shape, options_.kernel_size, options_.strides,
                                       options_.dilation_rate, same_padding_, channels_first_,
                                       in * options_.depth_multiplier);
}

nlohmann::json DepthwiseConv2DLayer::get_config() const {
  nlohmann::json c = Layer::get_config();
  detail::depthwise_to_json(options_, c);
  return c;
}

std::shared_ptr<DepthwiseConv2DLayer> DepthwiseConv2DLayer::from_config(const nlohmann::json& config) {
  return make_from_config<DepthwiseConv2DLayer>("DepthwiseConv2D", config, [](config::ConfigReader& r) {
    Options o;
    detail::depthwise_from_config(r, o);
    return o;
  });
}

Ref<DepthwiseConv2DLayer> DepthwiseConv2D(DepthwiseConv2DLayer::Options options, std::string name) {
  return std::make_shared<DepthwiseConv2DLayer>(std::move(options), std::move(name));
}

}  // namespace keel::layers
