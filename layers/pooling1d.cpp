#include "keel/layers/pooling1d.h"

#include <fmt/format.h>

#include "keel/autograd/ops.h"
#include "keel/core/kernels/window_geometry.h"
#include "keel/layers/detail/conv_layer_support.h"

namespace keel::layers {

Pooling1DLayer::Pooling1DLayer(const char* class_name, Options options, std::string name)
    : Layer(class_name, std::move(name)), options_(std::move(options)) {
  require_positive(*this, "pool_size", options_.pool_size);
  strides_ = options_.strides.value_or(options_.pool_size);
  require_positive(*this, "strides", strides_);
  same_padding_ = parse_padding(*this, options_.padding);
  channels_first_ = parse_data_format(*this, options_.data_format);
  set_input_spec({.ndim = 3});
}

Tensor Pooling1DLayer::call(const Tensor& x, const CallContext&) {
  compute_output_shape(x.shape());  // a too-short sequence is refused in the layer's terms
  const std::int64_t image_axis = channels_first_ ? 2 : 1;  // [N, 1, steps, C] or [N, C, 1, steps]
  const ops::Pool2dOptions pool{.pool_h = 1,
                                .pool_w = options_.pool_size,
                                .stride_h = 1,
                                .stride_w = strides_,
                                .same_padding = same_padding_,
                                .channels_first = channels_first_};
  const Tensor image = ops::unsqueeze(x, image_axis);
  return ops::squeeze(class_name() == "MaxPooling1D" ? ops::max_pool2d(image, pool) : ops::avg_pool2d(image, pool),
                      image_axis);
}

Shape Pooling1DLayer::compute_output_shape(const Shape& input_shape) const {
  detail::require_rank(*this, input_shape, 3);
  const std::size_t step_axis = channels_first_ ? 2 : 1;
  Shape out = input_shape;
  out[step_axis] = kernels::window_extent(fmt::format("{} '{}'", class_name(), name()), "steps",
                                          input_shape[step_axis], options_.pool_size, strides_, 1, same_padding_)
                       .out;
  return out;
}

nlohmann::json Pooling1DLayer::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["pool_size"] = nlohmann::json::array({options_.pool_size});
  c["strides"] = nlohmann::json::array({strides_});
  c["padding"] = options_.padding;
  c["data_format"] = options_.data_format;
  return c;
}

Pooling1DLayer::Options Pooling1DLayer::read_options(config::ConfigReader& r) {
  Options o;
  o.pool_size = detail::read_size1(r, "pool_size", 2);
  if (!r.value("strides").is_null()) o.strides = detail::read_size1(r, "strides", o.pool_size);
  o.padding = r.string("padding", "valid");
  o.data_format = r.string("data_format", "channels_last");
  return o;
}

MaxPooling1DLayer::MaxPooling1DLayer(Options options, std::string name)
    : Pooling1DLayer("MaxPooling1D", std::move(options), std::move(name)) {}
std::shared_ptr<MaxPooling1DLayer> MaxPooling1DLayer::from_config(const nlohmann::json& config) {
  return make_from_config<MaxPooling1DLayer>("MaxPooling1D", config, read_options);
}

AveragePooling1DLayer::AveragePooling1DLayer(Options options, std::string name)
    : Pooling1DLayer("AveragePooling1D", std::move(options), std::move(name)) {}
std::shared_ptr<AveragePooling1DLayer> AveragePooling1DLayer::from_config(const nlohmann::json& config) {
  return make_from_config<AveragePooling1DLayer>("AveragePooling1D", config, read_options);
}

Ref<MaxPooling1DLayer> MaxPooling1D(Pooling1DOptions options, std::string name) {
  return std::make_shared<MaxPooling1DLayer>(std::move(options), std::move(name));
}
Ref<AveragePooling1DLayer> AveragePooling1D(Pooling1DOptions options, std::string name) {
  return std::make_shared<AveragePooling1DLayer>(std::move(options), std::move(name));
}

}  // namespace keel::layers
