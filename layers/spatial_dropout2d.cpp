#include "keel/layers/spatial_dropout2d.h"

#include "keel/autograd/ops.h"
#include "keel/core/random.h"
#include "keel/layers/detail/sample_counter.h"

namespace keel::layers {

SpatialDropout2DLayer::SpatialDropout2DLayer(Options options, std::string name)
    : Layer("SpatialDropout2D", std::move(name)),
      options_(std::move(options)),
      channels_first_(parse_data_format(*this, options_.data_format)),
      mask_seeds_(options_.seed, 0x73647270u /* "sdrp" */) {
  detail::require_rate(*this, options_.rate);
}

void SpatialDropout2DLayer::build(const Shape&) { set_input_spec({.ndim = 4}); }

Tensor SpatialDropout2DLayer::call(const Tensor& x, const CallContext& ctx) {
  if (!ctx.training || options_.rate == 0.0) return x;
  const double keep = 1.0 - options_.rate;
  const std::int64_t channels = x.shape()[channels_first_ ? 1 : 3];
  const Shape noise = channels_first_ ? Shape{x.shape()[0], channels, 1, 1} : Shape{x.shape()[0], 1, 1, channels};
  Tensor mask = random::bernoulli(noise, keep, mask_seeds_.next(), x.dtype(), detail::first_counter(ctx, noise));
  return x * (mask * (1.0 / keep));
}

nlohmann::json SpatialDropout2DLayer::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["rate"] = options_.rate;
  c["data_format"] = options_.data_format;
  c["seed"] = options_.seed ? nlohmann::json(*options_.seed) : nlohmann::json();
  return c;
}

std::shared_ptr<SpatialDropout2DLayer> SpatialDropout2DLayer::from_config(const nlohmann::json& c) {
  return make_from_config<SpatialDropout2DLayer>("SpatialDropout2D", c, [](config::ConfigReader& r) -> Options {
    return {.rate = r.number("rate", 0.0),
            .data_format = r.string("data_format", "channels_last"),
            .seed = read_seed(r)};
  });
}

Ref<SpatialDropout2DLayer> SpatialDropout2D(SpatialDropout2DLayer::Options options, std::string name) {
  return std::make_shared<SpatialDropout2DLayer>(std::move(options), std::move(name));
}

}  // namespace keel::layers
