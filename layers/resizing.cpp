#include "keel/layers/resizing.h"

#include <fmt/format.h>

#include <algorithm>

#include "keel/core/error.h"
#include "keel/layers/detail/conv_layer_support.h"
#include "keel/layers/detail/resize_axis.h"

namespace keel::layers {

ResizingLayer::ResizingLayer(Options options, std::string name)
    : Layer("Resizing", std::move(name)), options_(std::move(options)) {
  require_positive(*this, "height", options_.height);
  require_positive(*this, "width", options_.width);
  channels_first_ = parse_data_format(*this, options_.data_format);
  if (options_.interpolation != "bilinear" && options_.interpolation != "nearest")
    throw ValueError(fmt::format("Resizing '{}': interpolation '{}' is not supported (keel has 'bilinear' and 'nearest')",
                                 this->name(), options_.interpolation));
  if (options_.pad_to_aspect_ratio)
    throw ValueError(fmt::format("Resizing '{}': pad_to_aspect_ratio=true is not supported", this->name()));
  if (options_.antialias)
    throw ValueError(fmt::format("Resizing '{}': antialias=true is not supported", this->name()));
  if (options_.fill_mode != "constant")
    throw ValueError(fmt::format("Resizing '{}': fill_mode must be 'constant' (Keras's only mode), got '{}'",
                                 this->name(), options_.fill_mode));
  set_input_spec({.ndim = 4});
}

Tensor ResizingLayer::call(const Tensor& x, const CallContext&) {
  const std::int64_t h_axis = channels_first_ ? 2 : 1;
  Tensor image = x;
  if (options_.crop_to_aspect_ratio) {
    // The largest centered window with the target's aspect ratio (Keras's crop box, in integers).
    const std::int64_t height = x.size(h_axis), width = x.size(h_axis + 1);
    const std::int64_t crop_h = std::clamp<std::int64_t>(width * options_.height / options_.width, 1, height);
    const std::int64_t crop_w = std::clamp<std::int64_t>(height * options_.width / options_.height, 1, width);
    image = image.narrow(h_axis, (height - crop_h) / 2, crop_h).narrow(h_axis + 1, (width - crop_w) / 2, crop_w);
  }
  const bool bilinear = options_.interpolation == "bilinear";
  image = detail::resize_axis(image, h_axis, options_.height, bilinear);
  return detail::resize_axis(image, h_axis + 1, options_.width, bilinear);
}

Shape ResizingLayer::compute_output_shape(const Shape& s) const {
  detail::require_rank(*this, s, 4);
  const std::size_t h_axis = channels_first_ ? 2 : 1;
  Shape out = s;
  out[h_axis] = options_.height;
  out[h_axis + 1] = options_.width;
  return out;
}

nlohmann::json ResizingLayer::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["height"] = options_.height;
  c["width"] = options_.width;
  c["interpolation"] = options_.interpolation;
  c["crop_to_aspect_ratio"] = options_.crop_to_aspect_ratio;
  c["pad_to_aspect_ratio"] = options_.pad_to_aspect_ratio;
  c["fill_mode"] = options_.fill_mode;
  c["fill_value"] = options_.fill_value;
  c["antialias"] = options_.antialias;
  c["data_format"] = options_.data_format;
  return c;
}

std::shared_ptr<ResizingLayer> ResizingLayer::from_config(const nlohmann::json& config) {
  return make_from_config<ResizingLayer>("Resizing", config, [](config::ConfigReader& r) {
    return Options{.height = r.integer("height", 0),
                   .width = r.integer("width", 0),
                   .interpolation = r.string("interpolation", "bilinear"),
                   .crop_to_aspect_ratio = r.boolean("crop_to_aspect_ratio", false),
                   .pad_to_aspect_ratio = r.boolean("pad_to_aspect_ratio", false),
                   .fill_mode = r.string("fill_mode", "constant"),
                   .fill_value = r.number("fill_value", 0.0),
                   .antialias = r.boolean("antialias", false),
                   .data_format = r.string("data_format", "channels_last")};
  });
}

Ref<ResizingLayer> Resizing(ResizingLayer::Options options, std::string name) {
  return std::make_shared<ResizingLayer>(std::move(options), std::move(name));
}

}  // namespace keel::layers
