#include "keel/layers/up_sampling2d.h"

#include <fmt/format.h>

#include "keel/autograd/ops.h"
#include "keel/core/error.h"
#include "keel/layers/detail/conv_layer_support.h"
#include "keel/layers/detail/resize_axis.h"

namespace keel::layers {
namespace {

// x repeated `times` times along `axis`, each element's copies side by side.
Tensor repeat_axis(const Tensor& x, std::int64_t axis, std::int64_t times) {
  if (times == 1) return x;
  Shape expanded = x.shape();
  expanded.insert(expanded.begin() + axis + 1, times);
  Shape single = x.shape();
  single.insert(single.begin() + axis + 1, 1);
  Shape out = x.shape();
  out[static_cast<std::size_t>(axis)] *= times;
  return ops::reshape(ops::broadcast_to(ops::reshape(x, single), expanded), out);
}

}  // namespace

UpSampling2DLayer::UpSampling2DLayer(Options options, std::string name)
    : Layer("UpSampling2D", std::move(name)), options_(std::move(options)) {
  require_positive(*this, "size", options_.size);
  channels_first_ = parse_data_format(*this, options_.data_format);
  if (options_.interpolation != "nearest" && options_.interpolation != "bilinear")
    throw ValueError(fmt::format("UpSampling2D '{}': interpolation must be 'nearest' or 'bilinear', got '{}'",
                                 this->name(), options_.interpolation));
  bilinear_ = options_.interpolation == "bilinear";
  set_input_spec({.ndim = 4});
}

Tensor UpSampling2DLayer::call(const Tensor& x, const CallContext&) {
  const std::int64_t h_axis = channels_first_ ? 2 : 1;
  const Size2 f = options_.size;
  if (!bilinear_) return repeat_axis(repeat_axis(x, h_axis, f.h), h_axis + 1, f.w);
  const Tensor rows = detail::resize_axis(x, h_axis, x.size(h_axis) * f.h, true);
  return detail::resize_axis(rows, h_axis + 1, x.size(h_axis + 1) * f.w, true);
}

Shape UpSampling2DLayer::compute_output_shape(const Shape& s) const {
  detail::require_rank(*this, s, 4);
  const std::size_t h_axis = channels_first_ ? 2 : 1;
  Shape out = s;
  out[h_axis] *= options_.size.h;
  out[h_axis + 1] *= options_.size.w;
  return out;
}

nlohmann::json UpSampling2DLayer::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["size"] = to_json(options_.size);
  c["data_format"] = options_.data_format;
  c["interpolation"] = options_.interpolation;
  return c;
}

std::shared_ptr<UpSampling2DLayer> UpSampling2DLayer::from_config(const nlohmann::json& config) {
  return make_from_config<UpSampling2DLayer>("UpSampling2D", config, [](config::ConfigReader& r) {
    return Options{.size = read_size2(r, "size", 2),
                   .data_format = r.string("data_format", "channels_last"),
                   .interpolation = r.string("interpolation", "nearest")};
  });
}

Ref<UpSampling2DLayer> UpSampling2D(UpSampling2DLayer::Options options, std::string name) {
  return std::make_shared<UpSampling2DLayer>(std::move(options), std::move(name));
}

}  // namespace keel::layers
