#include "keel/layers/pooling2d.h"

#include <fmt/format.h>

#include "keel/autograd/ops.h"
#include "keel/core/error.h"
#include "keel/core/kernels/window_geometry.h"

namespace keel::layers {

Pooling2DLayer::Pooling2DLayer(const char* class_name, Options options, std::string name)
    : Layer(class_name, std::move(name)), options_(std::move(options)) {
  require_positive(*this, "pool_size", options_.pool_size);
  strides_ = options_.strides.value_or(options_.pool_size);
  require_positive(*this, "strides", strides_);
  same_padding_ = parse_padding(*this, options_.padding);
  channels_first_ = parse_data_format(*this, options_.data_format);
  set_input_spec({.ndim = 4});
}

Tensor Pooling2DLayer::call(const Tensor& x, const CallContext&) {
  const ops::Pool2dOptions pool{.pool_h = options_.pool_size.h,
                                .pool_w = options_.pool_size.w,
                                .stride_h = strides_.h,
                                .stride_w = strides_.w,
                                .same_padding = same_padding_,
                                .channels_first = channels_first_};
  return class_name() == "MaxPooling2D" ? ops::max_pool2d(x, pool) : ops::avg_pool2d(x, pool);
}

Shape Pooling2DLayer::compute_output_shape(const Shape& input_shape) const {
  if (input_shape.size() != 4)
    throw ShapeError(fmt::format("{} '{}': expected a rank-4 input, got shape {}", class_name(), name(),
                                 to_string(input_shape)));
  const std::size_t h_axis = channels_first_ ? 2 : 1;
  const std::string op = fmt::format("{} '{}'", class_name(), name());
  Shape out = input_shape;
  out[h_axis] = kernels::window_extent(op, "height", input_shape[h_axis], options_.pool_size.h, strides_.h, 1,
                                       same_padding_).out;
  out[h_axis + 1] = kernels::window_extent(op, "width", input_shape[h_axis + 1], options_.pool_size.w, strides_.w, 1,
                                           same_padding_).out;
  return out;
}

nlohmann::json Pooling2DLayer::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["pool_size"] = to_json(options_.pool_size);
  c["strides"] = to_json(strides_);
  c["padding"] = options_.padding;
  c["data_format"] = options_.data_format;
  return c;
}

Pooling2DLayer::Options Pooling2DLayer::read_options(config::ConfigReader& r) {
  Options o;
  o.pool_size = read_size2(r, "pool_size", 2);
  if (const nlohmann::json& strides = r.value("strides"); !strides.is_null()) o.strides = size2_in(r, "strides", strides);
  o.padding = r.string("padding", "valid");
  o.data_format = r.string("data_format", "channels_last");
  return o;
}

MaxPooling2DLayer::MaxPooling2DLayer(Options options, std::string name)
    : Pooling2DLayer("MaxPooling2D", std::move(options), std::move(name)) {}
std::shared_ptr<MaxPooling2DLayer> MaxPooling2DLayer::from_config(const nlohmann::json& config) {
  return make_from_config<MaxPooling2DLayer>("MaxPooling2D", config, read_options);
}

AveragePooling2DLayer::AveragePooling2DLayer(Options options, std::string name)
    : Pooling2DLayer("AveragePooling2D", std::move(options), std::move(name)) {}
std::shared_ptr<AveragePooling2DLayer> AveragePooling2DLayer::from_config(const nlohmann::json& config) {
  return make_from_config<AveragePooling2DLayer>("AveragePooling2D", config, read_options);
}

Ref<MaxPooling2DLayer> MaxPooling2D(Pooling2DOptions options, std::string name) {
  return std::make_shared<MaxPooling2DLayer>(std::move(options), std::move(name));
}
Ref<AveragePooling2DLayer> AveragePooling2D(Pooling2DOptions options, std::string name) {
  return std::make_shared<AveragePooling2DLayer>(std::move(options), std::move(name));
}

}  // namespace keel::layers
