#include "keel/layers/conv2d_transpose.h"

#include <fmt/format.h>

#include "keel/autograd/ops.h"
#include "keel/core/error.h"
#include "keel/core/kernels/window_geometry.h"
#include "keel/layers/detail/conv_layer_support.h"

namespace keel::layers {

Conv2DTransposeLayer::Conv2DTransposeLayer(Options options, std::string name)
    : Layer("Conv2DTranspose", std::move(name)), options_(std::move(options)) {
  require_positive(*this, "filters", options_.filters);
  const detail::WindowFlags flags = detail::check_window_options(*this, options_);
  same_padding_ = flags.same_padding;
  channels_first_ = flags.channels_first;
  if (const std::optional<Size2>& p = options_.output_padding) {
    const Size2 s = options_.strides;
    if (p->h < 0 || p->w < 0 || p->h >= s.h || p->w >= s.w)
      throw ValueError(fmt::format("Conv2DTranspose '{}': output_padding must be >= 0 and smaller than strides, got "
                                   "output_padding ({}, {}) and strides ({}, {})",
                                   this->name(), p->h, p->w, s.h, s.w));
    // "same" with an even (dilated) kernel and output_padding 0 gives an output that a "same" convolution
    // maps to one row or column fewer than the input: TF refuses that shape too.
    const Size2 k = options_.kernel_size, d = options_.dilation_rate;
    const bool even_h = ((k.h - 1) * d.h + 1) % 2 == 0, even_w = ((k.w - 1) * d.w + 1) % 2 == 0;
    if (same_padding_ && ((even_h && p->h == 0) || (even_w && p->w == 0)))
      throw ValueError(fmt::format("Conv2DTranspose '{}': with 'same' padding and an even kernel extent, output_padding "
                                   "must be >= 1 along that axis, got output_padding ({}, {}) and kernel_size ({}, {})",
                                   this->name(), p->h, p->w, k.h, k.w));
  }
  set_activity_regularizer(options_.activity_regularizer);
}

void Conv2DTransposeLayer::build(const Shape& input_shape) {
  compute_output_shape(input_shape);  // a bad input fails before any weight exists
  const std::int64_t channel_axis = channels_first_ ? 1 : 3;
  const std::int64_t in = input_shape[channel_axis];
  kernel_ = add_weight("kernel", {options_.kernel_size.h, options_.kernel_size.w, options_.filters, in},
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

Tensor Conv2DTransposeLayer::call(const Tensor& x, const CallContext&) {
  const Size2 none{-1, -1};
  const Size2 output_padding = options_.output_padding.value_or(none);
  return options_.activation(ops::conv2d_transpose(x, kernel_.value(), options_.use_bias ? bias_.value() : Tensor(),
                                                   {.stride_h = options_.strides.h,
                                                    .stride_w = options_.strides.w,
                                                    .dilation_h = options_.dilation_rate.h,
                                                    .dilation_w = options_.dilation_rate.w,
                                                    .output_padding_h = output_padding.h,
                                                    .output_padding_w = output_padding.w,
                                                    .same_padding = same_padding_,
                                                    .channels_first = channels_first_}));
}

Shape Conv2DTransposeLayer::compute_output_shape(const Shape& input_shape) const {
  detail::require_rank(*this, input_shape, 4);
  const std::size_t h_axis = channels_first_ ? 2 : 1;
  const Size2 k = options_.kernel_size, s = options_.strides, d = options_.dilation_rate;
  const Size2 p = options_.output_padding.value_or(Size2{-1, -1});
  Shape out = input_shape;  // a free size (-1) stays free
  if (input_shape[h_axis] != -1)
    out[h_axis] = kernels::transposed_extent(input_shape[h_axis], k.h, s.h, d.h, p.h, same_padding_);
  if (input_shape[h_axis + 1] != -1)
    out[h_axis + 1] = kernels::transposed_extent(input_shape[h_axis + 1], k.w, s.w, d.w, p.w, same_padding_);
  out[channels_first_ ? 1 : 3] = options_.filters;
  return out;
}

nlohmann::json Conv2DTransposeLayer::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["filters"] = options_.filters;
  detail::window_to_json(options_, c);
  c["output_padding"] = options_.output_padding ? to_json(*options_.output_padding) : nlohmann::json();
  kernel_bias_to_json(options_, c);
  return c;
}

std::shared_ptr<Conv2DTransposeLayer> Conv2DTransposeLayer::from_config(const nlohmann::json& config) {
  return make_from_config<Conv2DTransposeLayer>("Conv2DTranspose", config, [](config::ConfigReader& r) {
    Options o;
    o.filters = r.integer("filters", 0);
    detail::window_from_config(r, o);
    if (const nlohmann::json& p = r.value("output_padding"); !p.is_null()) o.output_padding = size2_in(r, "output_padding", p);
    kernel_bias_from_config(r, o);
    return o;
  });
}

Ref<Conv2DTransposeLayer> Conv2DTranspose(Conv2DTransposeLayer::Options options, std::string name) {
  return std::make_shared<Conv2DTransposeLayer>(std::move(options), std::move(name));
}

}  // namespace keel::layers
