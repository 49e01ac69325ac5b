#include "keel/layers/gaussian_dropout.h"

#include <cmath>

#include "keel/autograd/ops.h"
#include "keel/core/random.h"
#include "keel/layers/detail/sample_counter.h"

namespace keel::layers {

GaussianDropoutLayer::GaussianDropoutLayer(Options options, std::string name)
    : Layer("GaussianDropout", std::move(name)), options_(options), noise_seeds_(options.seed, 0x67647270u /* "gdrp" */) {
  detail::require_rate(*this, options_.rate);
}

Tensor GaussianDropoutLayer::call(const Tensor& x, const CallContext& ctx) {
  if (!ctx.training || options_.rate == 0.0) return x;
  const double stddev = std::sqrt(options_.rate / (1.0 - options_.rate));
  return x * random::normal(x.shape(), 1.0, stddev, noise_seeds_.next(), x.dtype(), detail::first_counter(ctx, x.shape()));
}

nlohmann::json GaussianDropoutLayer::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["rate"] = options_.rate;
  c["seed"] = options_.seed ? nlohmann::json(*options_.seed) : nlohmann::json();
  return c;
}

std::shared_ptr<GaussianDropoutLayer> GaussianDropoutLayer::from_config(const nlohmann::json& c) {
  return make_from_config<GaussianDropoutLayer>("GaussianDropout", c, [](config::ConfigReader& r) -> Options {
    return {.rate = r.number("rate", 0.0), .seed = read_seed(r)};
  });
}

Ref<GaussianDropoutLayer> GaussianDropout(GaussianDropoutLayer::Options options, std::string name) {
  return std::make_shared<GaussianDropoutLayer>(options, std::move(name));
}

}  // namespace keel::layers
