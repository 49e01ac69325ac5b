#include "keel/layers/conv2d.h"

#include "keel/autograd/ops.h"
#include "keel/layers/detail/conv_layer_support.h"

namespace keel::layers {

Conv2DLayer::Conv2DLayer(Options options, std::string name)
    : Layer("Conv2D", std::move(name)), options_(std::move(options)) {
  require_positive(*this, "filters", options_.filters);
  const detail::WindowFlags flags = detail::check_window_options(*this, options_);
  same_padding_ = flags.same_padding;
  channels_first_ = flags.channels_first;
  set_activity_regularizer(options_.activity_regularizer);
}

void Conv2DLayer::build(const Shape& input_shape) {
  compute_output_shape(input_shape);  // a bad input fails before any weight exists
  const std::int64_t channel_axis = channels_first_ ? 1 : 3;
  const std::int64_t in = input_shape[channel_axis];
  kernel_ = add_weight("kernel", {options_.kernel_size.h, options_.kernel_size.w, in, options_.filters},
                       {.initializer = options_.kernel_initializer,
                        .regularizer = options_.kernel_regularizer,
                        .constraint = options_.kernel_constraint});
  if (options_.use_bias)
    bias_ = add_weight("bias", {options_.filters},
                       {.initializer = options_.bias_initializer,
                        .regularizer = options_.bias_regularizer,
                        .constraint = options_.bias_constraint});
  set_input_spec({.ndim = 4, .axes = {{channel_axis, in}}});
}

Tensor Conv2DLayer::call(const Tensor& x, const CallContext&) {
  const ops::Conv2dOptions conv{.stride_h = options_.strides.h,
                                .stride_w = options_.strides.w,
                                .dilation_h = options_.dilation_rate.h,
                                .dilation_w = options_.dilation_rate.w,
                                .same_padding = same_padding_,
                                .channels_first = channels_first_,
                                .relu = options_.activation.is_builtin_relu()};
  Tensor y = ops::conv2d(x, kernel_.value(), options_.use_bias ? bias_.value() : Tensor(), conv);
  return conv.relu ? y : options_.activation(y);
}

Shape Conv2DLayer::compute_output_shape(const Shape& input_shape) const {
  return detail::windowed_output_shape(*this, input_shape, options_.kernel_size, options_.strides,
                                       options_.dilation_rate, same_padding_, channels_first_, options_.filters);
}

nlohmann::json Conv2DLayer::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["filters"] = options_.filters;
  detail::window_to_json(options_, c);
  kernel_bias_to_json(options_, c);
  return c;
}

std::shared_ptr<Conv2DLayer> Conv2DLayer::from_config(const nlohmann::json& config) {
  return make_from_config<Conv2DLayer>("Conv2D", config, [](config::ConfigReader& r) {
    Options o;
    o.filters = r.integer("filters", 0);
    detail::window_from_config(r, o);
    kernel_bias_from_config(r, o);
    return o;
  });
}

Ref<Conv2DLayer> Conv2D(Conv2DLayer::Options options, std::string name) {
  return std::make_shared<Conv2DLayer>(std::move(options), std::move(name));
}

}  // namespace keel::layers
