#include "keel/layers/up_sampling2d.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "keel/autograd/ops.h"
#include "keel/core/error.h"
#include "keel/layers/detail/conv_layer_support.h"

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

// x resized `factor` times along `axis` by bilinear interpolation at half-pixel centers: output o reads
// source (o + 0.5) / factor - 0.5 between its two neighbours, clamped to the edges. A gather of the two
// neighbours and a weighted sum, so memory stays proportional to the output.
Tensor resize_axis(const Tensor& x, std::int64_t axis, std::int64_t factor) {
  if (factor == 1) return x;
  const std::int64_t in = x.shape()[static_cast<std::size_t>(axis)], out = in * factor;
  std::vector<double> below(static_cast<std::size_t>(out)), above(below.size()), weight(below.size());
  for (std::int64_t o = 0; o < out; ++o) {
    const double source = (static_cast<double>(o) + 0.5) / static_cast<double>(factor) - 0.5;
    const double floor = std::floor(source);
    const auto clamp = [in](double i) { return static_cast<double>(std::clamp<std::int64_t>(static_cast<std::int64_t>(i), 0, in - 1)); };
    below[static_cast<std::size_t>(o)] = clamp(floor);
    above[static_cast<std::size_t>(o)] = clamp(floor + 1);
    weight[static_cast<std::size_t>(o)] = source - floor;
  }
  const Tensor front = ops::transpose(x, 0, axis);  // the resized axis first, for take_rows
  Shape weight_shape(front.shape().size(), 1);
  weight_shape[0] = out;
  const Tensor w = Tensor::from_vector(weight, weight_shape, x.dtype());
  const Tensor a = ops::take_rows(front, Tensor::from_vector(below, {out}, DType::int64));
  const Tensor b = ops::take_rows(front, Tensor::from_vector(above, {out}, DType::int64));
  return ops::transpose(a * (1.0 - w) + b * w, 0, axis);
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
  return resize_axis(resize_axis(x, h_axis, f.h), h_axis + 1, f.w);
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
