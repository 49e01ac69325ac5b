#include "keel/layers/cropping2d.h"

#include <fmt/format.h>

#include "keel/autograd/ops.h"
#include "keel/core/error.h"
#include "keel/layers/detail/conv_layer_support.h"

namespace keel::layers {

Cropping2DLayer::Cropping2DLayer(Options options, std::string name)
    : Layer("Cropping2D", std::move(name)), options_(std::move(options)) {
  const Padding2& p = options_.cropping;
  if (p.top < 0 || p.bottom < 0 || p.left < 0 || p.right < 0)
    throw ValueError(fmt::format("Cropping2D '{}': cropping must be >= 0, got (({}, {}), ({}, {}))", this->name(), p.top,
                                 p.bottom, p.left, p.right));
  channels_first_ = parse_data_format(*this, options_.data_format);
  set_input_spec({.ndim = 4});
}

Tensor Cropping2DLayer::call(const Tensor& x, const CallContext&) {
  const Shape out = compute_output_shape(x.shape());
  const std::int64_t h_axis = channels_first_ ? 2 : 1;
  const Padding2& p = options_.cropping;
  return ops::narrow(ops::narrow(x, h_axis, p.top, out[h_axis]), h_axis + 1, p.left, out[h_axis + 1]);
}

Shape Cropping2DLayer::compute_output_shape(const Shape& s) const {
  detail::require_rank(*this, s, 4);
  const std::size_t h_axis = channels_first_ ? 2 : 1;
  const Padding2& p = options_.cropping;
  Shape out = s;
  out[h_axis] -= p.top + p.bottom;
  out[h_axis + 1] -= p.left + p.right;
  if (out[h_axis] <= 0 || out[h_axis + 1] <= 0)
    throw ShapeError(fmt::format("Cropping2D '{}': cropping (({}, {}), ({}, {})) leaves nothing of an input of height {} "
                                 "and width {} (shape {})",
                                 name(), p.top, p.bottom, p.left, p.right, s[h_axis], s[h_axis + 1], to_string(s)));
  return out;
}

nlohmann::json Cropping2DLayer::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["cropping"] = detail::sides_to_json(options_.cropping);
  c["data_format"] = options_.data_format;
  return c;
}

std::shared_ptr<Cropping2DLayer> Cropping2DLayer::from_config(const nlohmann::json& config) {
  return make_from_config<Cropping2DLayer>("Cropping2D", config, [](config::ConfigReader& r) -> Options {
    return {.cropping = detail::read_sides(r, "cropping", 0), .data_format = r.string("data_format", "channels_last")};
  });
}

Ref<Cropping2DLayer> Cropping2D(Cropping2DLayer::Options options, std::string name) {
  return std::make_shared<Cropping2DLayer>(std::move(options), std::move(name));
}

}  // namespace keel::layers
