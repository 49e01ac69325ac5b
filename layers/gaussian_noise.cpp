#include "keel/layers/gaussian_noise.h"

#include <fmt/format.h>

#include "keel/autograd/ops.h"
#include "keel/core/error.h"
#include "keel/core/random.h"
#include "keel/layers/detail/sample_counter.h"

namespace keel::layers {

GaussianNoiseLayer::GaussianNoiseLayer(Options options, std::string name)
    : Layer("GaussianNoise", std::move(name)), options_(options), noise_seeds_(options.seed, 0x676e6f69u /* "gnoi" */) {
  if (!(options_.stddev >= 0.0 && options_.stddev <= 1.0))
    throw ValueError(fmt::format("GaussianNoise '{}': stddev must be in [0, 1], got {}", this->name(), options_.stddev));
}

Tensor GaussianNoiseLayer::call(const Tensor& x, const CallContext& ctx) {
  if (!ctx.training || options_.stddev == 0.0) return x;
  return x + random::normal(x.shape(), 0.0, options_.stddev, noise_seeds_.next(), x.dtype(),
                            detail::first_counter(ctx, x.shape()));
}

nlohmann::json GaussianNoiseLayer::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["stddev"] = options_.stddev;
  c["seed"] = options_.seed ? nlohmann::json(*options_.seed) : nlohmann::json();
  return c;
}

std::shared_ptr<GaussianNoiseLayer> GaussianNoiseLayer::from_config(const nlohmann::json& c) {
  return make_from_config<GaussianNoiseLayer>("GaussianNoise", c, [](config::ConfigReader& r) -> Options {
    return {.stddev = r.number("stddev", 0.0), .seed = read_seed(r)};
  });
}

Ref<GaussianNoiseLayer> GaussianNoise(GaussianNoiseLayer::Options options, std::string name) {
  return std::make_shared<GaussianNoiseLayer>(options, std::move(name));
}

}  // namespace keel::layers
