#include "keel/layers/separable_conv2d.h"

#include "keel/autograd/ops.h"
#include "keel/layers/detail/conv_layer_support.h"

namespace keel::layers {

SeparableConv2DLayer::SeparableConv2DLayer(Options options, std::string name)
    : Layer("SeparableConv2D", std::move(name)), options_(std::move(options)) {
  require_positive(*this, "filters", options_.filters);
  require_positive(*this, "depth_multiplier", options_.depth_multiplier);
  const detail::WindowFlags flags = detail::check_window_options(*this, options_);
  same_padding_ = flags.same_padding;
  channels_first_ = flags.channels_first;
  set_activity_regularizer(options_.activity_regularizer);
}

void SeparableConv2DLayer::build(const Shape& input_shape) {
  compute_output_shape(input_shape);  // a bad input fails before any weight exists
  const std::int64_t channel_axis = channels_first_ ? 1 : 3;
  const std::int64_t in = input_shape[channel_axis], m = options_.depth_multiplier;
  depthwise_kernel_ = add_weight("depthwise_kernel", {options_.kernel_size.h, options_.kernel_size.w, in, m},
                                 {.initializer = options_.depthwise_initializer,
                                  .regularizer = options_.depthwise_regularizer,
                                  .constraint = options_.depthwise_constraint});
  pointwise_kernel_ = add_weight("pointwise_kernel", {1, 1, in * m, options_.filters},
                                 {.initializer = options_.pointwise_initializer,
                                  .regularizer = options_.pointwise_regularizer,
                                  .constraint = options_.pointwise_constraint});
  if (options_.use_bias)
    bias_ = add_weight("bias", {options_.filters},
                       {.initializer = options_.bias_initializer,
                        .regularizer = options_.bias_regularizer,
                        .constraint = options_.bias_constraint});
  set_input_spec({.ndim = 4, .axes = {{channel_axis, in}}});
}

Tensor SeparableConv2DLayer::call(const Tensor& x, const CallContext&) {
  compute_output_shape(x.shape());  // a too-small input is refused naming the layer
  const Tensor depthwise = ops::depthwise_conv2d(x, depthwise_kernel_.value(), Tensor(),
                                                 {.stride_h = options_.strides.h,
                                                  .stride_w = options_.strides.w,
                                                  .dilation_h = options_.dilation_rate.h,
                                                  .dilation_w = options_.dilation_rate.w,
                                                  .same_padding = same_padding_,
                                                  .channels_first = channels_first_});
  const bool relu = options_.activation.is_builtin_relu();
  Tensor y = ops::conv2d(depthwise, pointwise_kernel_.value(), options_.use_bias ? bias_.value() : Tensor(),
                         {.channels_first = channels_first_, .relu = relu});
  return relu ? y : options_.activation(y);
}

Shape SeparableConv2DLayer::compute_output_shape(const Shape& input_shape) const {
  return detail::windowed_output_shape(*this, input_shape, options_.kernel_size, options_.strides,
                                       options_.dilation_rate, same_padding_, channels_first_, options_.filters);
}

nlohmann::json SeparableConv2DLayer::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["filters"] = options_.filters;
  detail::depthwise_to_json(options_, c);
  c["pointwise_initializer"] = options_.pointwise_initializer.serialize();
  c["pointwise_regularizer"] = options_.pointwise_regularizer.serialize();
  c["pointwise_constraint"] = options_.pointwise_constraint.serialize();
  return c;
}

std::shared_ptr<SeparableConv2DLayer> SeparableConv2DLayer::from_config(const nlohmann::json& config) {
  return make_from_config<SeparableConv2DLayer>("SeparableConv2D", config, [](config::ConfigReader& r) {
    Options o;
    o.filters = r.integer("filters", 0);
    detail::depthwise_from_config(r, o);
    if (r.contains("pointwise_initializer"))
      o.pointwise_initializer = initializers::deserialize(r.value("pointwise_initializer"));
    o.pointwise_regularizer = regularizers::deserialize(r.value("pointwise_regularizer"));
    o.pointwise_constraint = constraints::deserialize(r.value("pointwise_constraint"));
    return o;
  });
}

Ref<SeparableConv2DLayer> SeparableConv2D(SeparableConv2DLayer::Options options, std::string name) {
  return std::make_shared<SeparableConv2DLayer>(std::move(options), std::move(name));
}

}  // namespace keel::layers
