#include "keel/layers/global_pooling2d.h"

#include <fmt/format.h>

#include "keel/autograd/ops.h"
#include "keel/core/error.h"

namespace keel::layers {

GlobalPooling2DLayer::GlobalPooling2DLayer(const char* class_name, Options options, std::string name)
    : Layer(class_name, std::move(name)), options_(std::move(options)) {
  channels_first_ = parse_data_format(*this, options_.data_format);
  set_input_spec({.ndim = 4});
}

Tensor GlobalPooling2DLayer::call(const Tensor& x, const CallContext&) {
  const std::vector<std::int64_t> spatial = channels_first_ ? std::vector<std::int64_t>{2, 3} : std::vector<std::int64_t>{1, 2};
  return class_name() == "GlobalMaxPooling2D" ? ops::max(x, spatial, options_.keepdims)
                                              : ops::mean(x, spatial, options_.keepdims);
}

Shape GlobalPooling2DLayer::compute_output_shape(const Shape& s) const {
  if (s.size() != 4)
    throw ShapeError(fmt::format("{} '{}': expected a rank-4 input, got shape {}", class_name(), name(), to_string(s)));
  if (options_.keepdims) return channels_first_ ? Shape{s[0], s[1], 1, 1} : Shape{s[0], 1, 1, s[3]};
  return {s[0], channels_first_ ? s[1] : s[3]};
}

nlohmann::json GlobalPooling2DLayer::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["data_format"] = options_.data_format;
  c["keepdims"] = options_.keepdims;
  return c;
}

GlobalPooling2DLayer::Options GlobalPooling2DLayer::read_options(config::ConfigReader& r) {
  return {.data_format = r.string("data_format", "channels_last"), .keepdims = r.boolean("keepdims", false)};
}

GlobalAveragePooling2DLayer::GlobalAveragePooling2DLayer(Options options, std::string name)
    : GlobalPooling2DLayer("GlobalAveragePooling2D", std::move(options), std::move(name)) {}
std::shared_ptr<GlobalAveragePooling2DLayer> GlobalAveragePooling2DLayer::from_config(const nlohmann::json& config) {
  return make_from_config<GlobalAveragePooling2DLayer>("GlobalAveragePooling2D", config, read_options);
}

GlobalMaxPooling2DLayer::GlobalMaxPooling2DLayer(Options options, std::string name)
    : GlobalPooling2DLayer("GlobalMaxPooling2D", std::move(options), std::move(name)) {}
std::shared_ptr<GlobalMaxPooling2DLayer> GlobalMaxPooling2DLayer::from_config(const nlohmann::json& config) {
  return make_from_config<GlobalMaxPooling2DLayer>("GlobalMaxPooling2D", config, read_options);
}

Ref<GlobalAveragePooling2DLayer> GlobalAveragePooling2D(GlobalPooling2DOptions options, std::string name) {
  return std::make_shared<GlobalAveragePooling2DLayer>(std::move(options), std::move(name));
}
Ref<GlobalMaxPooling2DLayer> GlobalMaxPooling2D(GlobalPooling2DOptions options, std::string name) {
  return std::make_shared<GlobalMaxPooling2DLayer>(std::move(options), std::move(name));
}

}  // namespace keel::layers
