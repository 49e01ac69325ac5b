#include "keel/layers/conv1d.h"

#include <fmt/format.h>

#include "keel/autograd/ops.h"
#include "keel/core/error.h"
#include "keel/core/kernels/window_geometry.h"
#include "keel/layers/detail/conv_layer_support.h"

namespace keel::layers {

Conv1DLayer::Conv1DLayer(Options options, std::string name)
    : Layer("Conv1D", std::move(name)), options_(std::move(options)) {
  require_positive(*this, "filters", options_.filters);
  require_positive(*this, "kernel_size", options_.kernel_size);
  require_positive(*this, "strides", options_.strides);
  require_positive(*this, "dilation_rate", options_.dilation_rate);
  require_positive(*this, "groups", options_.groups);
  causal_ = options_.padding == "causal";
  same_padding_ = !causal_ && parse_padding(*this, options_.padding);
  channels_first_ = parse_data_format(*this, options_.data_format);
  detail::require_unit_strides_or_dilation(*this, Size2(1, options_.strides), Size2(1, options_.dilation_rate));
  if (options_.filters % options_.groups != 0)
    throw ValueError(fmt::format("Conv1D '{}': filters ({}) must be a multiple of groups ({})", this->name(),
                                 options_.filters, options_.groups));
  set_activity_regularizer(options_.activity_regularizer);
}

std::int64_t Conv1DLayer::causal_padding() const {
  return causal_ ? options_.dilation_rate * (options_.kernel_size - 1) : 0;
}

void Conv1DLayer::build(const Shape& input_shape) {
  compute_output_shape(input_shape);  // a bad input fails before any weight exists
  const std::int64_t channel_axis = channels_first_ ? 1 : 2;
  const std::int64_t in = input_shape[channel_axis];
  if (in % options_.groups != 0)
    throw ShapeError(fmt::format("Conv1D '{}': the input's {} channels (shape {}) are not a multiple of groups ({})",
                                 name(), in, to_string(input_shape), options_.groups));
  kernel_ = add_weight("kernel", {options_.kernel_size, in / options_.groups, options_.filters},
                       {.initializer = options_.kernel_initializer,
                        .regularizer = options_.kernel_regularizer,
                        .constraint = options_.kernel_constraint});
  if (options_.use_bias)
    bias_ = add_weight("bias", {options_.filters},
                       {.initializer = options_.bias_initializer,
                        .regularizer = options_.bias_regularizer,
                        .constraint = options_.bias_constraint});
  set_input_spec({.ndim = 3, .axes = {{channel_axis, in}}});
}

Tensor Conv1DLayer::call(const Tensor& x, const CallContext&) {
  const Shape out_shape = compute_output_shape(x.shape());  // a too-short sequence is refused in the layer's terms
  const std::int64_t step_axis = channels_first_ ? 2 : 1;
  const Shape& ks = kernel_.shape();
  // A height-1 image: [N, 1, steps, C] or [N, C, 1, steps], and a [1, k, in / groups, filters] kernel.
  Tensor kernel = ops::reshape(kernel_.value(), {1, ks[0], ks[1], ks[2]});
  Tensor padded = x;
  if (std::int64_t pad = causal_padding(); pad > 0) {
    // Leading taps that only ever meet the causal zeros (a dilation longer than the sequence) are dropped with
    // their zeros, so the padding stays shorter than the output.
    const std::int64_t reach = pad - (out_shape[static_cast<std::size_t>(step_axis)] - 1) * options_.strides;
    const std::int64_t unused = reach <= 0 ? 0 : (reach + options_.dilation_rate - 1) / options_.dilation_rate;
    kernel = ops::narrow(kernel, 1, unused, ks[0] - unused);
    pad -= unused * options_.dilation_rate;
    Shape zeros = x.shape();
    zeros[static_cast<std::size_t>(step_axis)] = pad;
    if (pad > 0) padded = ops::concat({Tensor::zeros(zeros, x.dtype()), x}, step_axis);
  }
  const Tensor image = ops::unsqueeze(padded, channels_first_ ? 2 : 1);
  const std::int64_t image_channel_axis = channels_first_ ? 1 : 3;
  const ops::Conv2dOptions conv{.stride_w = options_.strides,
                                .dilation_w = options_.dilation_rate,
                                .same_padding = same_padding_,
                                .channels_first = channels_first_};
  const Tensor bias = options_.use_bias ? bias_.value() : Tensor();
  Tensor y;
  if (options_.groups == 1) {
    y = ops::conv2d(image, kernel, bias, conv);
  } else {
    const std::int64_t in_group = ks[1], out_group = options_.filters / options_.groups;
    std::vector<Tensor> parts;
    for (std::int64_t g = 0; g < options_.groups; ++g)
      parts.push_back(ops::conv2d(ops::narrow(image, image_channel_axis, g * in_group, in_group),
                                  ops::narrow(kernel, 3, g * out_group, out_group),
                                  bias.defined() ? ops::narrow(bias, 0, g * out_group, out_group) : Tensor(), conv));
    y = ops::concat(parts, image_channel_axis);
  }
  return options_.activation(ops::squeeze(y, channels_first_ ? 2 : 1));
}

Shape Conv1DLayer::compute_output_shape(const Shape& input_shape) const {
  detail::require_rank(*this, input_shape, 3);
  const std::size_t step_axis = channels_first_ ? 2 : 1;
  Shape out = input_shape;  // a free size (-1) stays free
  if (input_shape[step_axis] != -1)
    out[step_axis] = kernels::window_extent(fmt::format("Conv1D '{}'", name()), "steps",
                                          input_shape[step_axis] + causal_padding(), options_.kernel_size,
                                          options_.strides, options_.dilation_rate, same_padding_)
                       .out;
  out[channels_first_ ? 1 : 2] = options_.filters;
  return out;
}

nlohmann::json Conv1DLayer::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["filters"] = options_.filters;
  c["kernel_size"] = nlohmann::json::array({options_.kernel_size});
  c["strides"] = nlohmann::json::array({options_.strides});
  c["padding"] = options_.padding;
  c["data_format"] = options_.data_format;
  c["dilation_rate"] = nlohmann::json::array({options_.dilation_rate});
  c["groups"] = options_.groups;
  kernel_bias_to_json(options_, c);
  return c;
}

std::shared_ptr<Conv1DLayer> Conv1DLayer::from_config(const nlohmann::json& config) {
  return make_from_config<Conv1DLayer>("Conv1D", config, [](config::ConfigReader& r) {
    Options o;
    o.filters = r.integer("filters", 0);
    o.kernel_size = detail::read_size1(r, "kernel_size", 0);
    o.strides = detail::read_size1(r, "strides", 1);
    o.padding = r.string("padding", "valid");
    o.data_format = r.string("data_format", "channels_last");
    o.dilation_rate = detail::read_size1(r, "dilation_rate", 1);
    o.groups = r.integer("groups", 1);
    kernel_bias_from_config(r, o);
    return o;
  });
}

Ref<Conv1DLayer> Conv1D(Conv1DLayer::Options options, std::string name) {
  return std::make_shared<Conv1DLayer>(std::move(options), std::move(name));
}

}  // namespace keel::layers
