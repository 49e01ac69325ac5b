#include "keel/layers/global_pooling.h"

#include "keel/autograd/ops.h"
#include "keel/layers/detail/conv_layer_support.h"

namespace keel::layers {

GlobalPoolingLayer::GlobalPoolingLayer(const char* class_name, std::int64_t spatial_rank, bool max, Options options,
                                       std::string name)
    : Layer(class_name, std::move(name)), options_(std::move(options)), spatial_rank_(spatial_rank), max_(max) {
  channels_first_ = parse_data_format(*this, options_.data_format);
  set_input_spec({.ndim = spatial_rank_ + 2});
}

std::vector<std::int64_t> GlobalPoolingLayer::spatial_axes() const {
  std::vector<std::int64_t> axes;
  for (std::int64_t a = 0; a < spatial_rank_; ++a) axes.push_back(a + (channels_first_ ? 2 : 1));
  return axes;
}

Tensor GlobalPoolingLayer::call(const Tensor& x, const CallContext&) {
  return max_ ? ops::max(x, spatial_axes(), options_.keepdims) : ops::mean(x, spatial_axes(), options_.keepdims);
}

Shape GlobalPoolingLayer::compute_output_shape(const Shape& s) const {
  detail::require_rank(*this, s, static_cast<std::size_t>(spatial_rank_ + 2));
  const std::int64_t channels = channels_first_ ? s[1] : s.back();
  if (!options_.keepdims) return {s[0], channels};
  Shape out = s;
  for (std::int64_t a : spatial_axes()) out[static_cast<std::size_t>(a)] = 1;
  return out;
}

nlohmann::json GlobalPoolingLayer::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["data_format"] = options_.data_format;
  c["keepdims"] = options_.keepdims;
  return c;
}

GlobalPoolingLayer::Options GlobalPoolingLayer::read_options(config::ConfigReader& r) {
  return {.data_format = r.string("data_format", "channels_last"), .keepdims = r.boolean("keepdims", false)};
}

}  // namespace keel::layers
