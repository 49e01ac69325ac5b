#include "keel/layers/zero_padding2d.h"

#include <fmt/format.h>

#include "keel/autograd/ops.h"
#include "keel/core/error.h"
#include "keel/layers/detail/conv_layer_support.h"

namespace keel::layers {
namespace {

// Zeros of x's shape except `length` along `axis`, before and after x.
Tensor pad_axis(const Tensor& x, std::int64_t axis, std::int64_t before, std::int64_t after) {
  if (before == 0 && after == 0) return x;
  std::vector<Tensor> parts;
  Shape side = x.shape();
  if (before > 0) {
    side[axis] = before;
    parts.push_back(Tensor::zeros(side, x.dtype()));
  }
  parts.push_back(x);
  if (after > 0) {
    side[axis] = after;
    parts.push_back(Tensor::zeros(side, x.dtype()));
  }
  return ops::concat(parts, axis);
}

}  // namespace

ZeroPadding2DLayer::ZeroPadding2DLayer(Options options, std::string name)
    : Layer("ZeroPadding2D", std::move(name)), options_(std::move(options)) {
  const Padding2& p = options_.padding;
  if (p.top < 0 || p.bottom < 0 || p.left < 0 || p.right < 0)
    throw ValueError(fmt::format("ZeroPadding2D '{}': padding must be >= 0, got (({}, {}), ({}, {}))", this->name(), p.top,
                                 p.bottom, p.left, p.right));
  channels_first_ = parse_data_format(*this, options_.data_format);
  set_input_spec({.ndim = 4});
}

Tensor ZeroPadding2DLayer::call(const Tensor& x, const CallContext&) {
  const std::int64_t h_axis = channels_first_ ? 2 : 1;
  const Padding2& p = options_.padding;
  return pad_axis(pad_axis(x, h_axis, p.top, p.bottom), h_axis + 1, p.left, p.right);
}

Shape ZeroPadding2DLayer::compute_output_shape(const Shape& s) const {
  if (s.size() != 4)
    throw ShapeError(fmt::format("ZeroPadding2D '{}': expected a rank-4 input, got shape {}", name(), to_string(s)));
  const std::size_t h_axis = channels_first_ ? 2 : 1;
  Shape out = s;
  out[h_axis] += options_.padding.top + options_.padding.bottom;
  out[h_axis + 1] += options_.padding.left + options_.padding.right;
  return out;
}

nlohmann::json ZeroPadding2DLayer::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["padding"] = detail::sides_to_json(options_.padding);
  c["data_format"] = options_.data_format;
  return c;
}

std::shared_ptr<ZeroPadding2DLayer> ZeroPadding2DLayer::from_config(const nlohmann::json& c) {
  return make_from_config<ZeroPadding2DLayer>("ZeroPadding2D", c, [](config::ConfigReader& r) -> Options {
    return {.padding = detail::read_sides(r, "padding", 1), .data_format = r.string("data_format", "channels_last")};
  });
}

Ref<ZeroPadding2DLayer> ZeroPadding2D(ZeroPadding2DLayer::Options options, std::string name) {
  return std::make_shared<ZeroPadding2DLayer>(std::move(options), std::move(name));
}

}  // namespace keel::layers
