#include "keel/layers/dropout.h"

#include <fmt/format.h>

#include "keel/autograd/ops.h"
#include "keel/core/error.h"
#include "keel/core/random.h"

namespace keel::layers {

DropoutLayer::DropoutLayer(Options options, std::string name)
    : Layer("Dropout", std::move(name)), options_(options), mask_seeds_(options.seed, 0x64726f70u /* "drop" */) {
  if (!(options_.rate >= 0.0 && options_.rate < 1.0))
    throw ValueError(fmt::format("Dropout '{}': rate must be in [0, 1), got {}", this->name(), options_.rate));
}

Tensor DropoutLayer::call(const Tensor& x, const CallContext& ctx) {
  if (!ctx.training || options_.rate == 0.0) return x;
  const double keep = 1.0 - options_.rate;
  // Element counters continue across the global batch, so a replica's share draws its samples' masks.
  const std::int64_t per_sample = x.dim() == 0 || x.shape()[0] == 0 ? 0 : x.numel() / x.shape()[0];
  const auto first = static_cast<std::uint64_t>(ctx.first_sample * per_sample);
  Tensor mask = random::bernoulli(x.shape(), keep, mask_seeds_.next(), x.dtype(), first);
  return x * (mask * (1.0 / keep));
}

nlohmann::json DropoutLayer::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["rate"] = options_.rate;
  c["seed"] = options_.seed ? nlohmann::json(*options_.seed) : nlohmann::json();
  return c;
}

std::shared_ptr<DropoutLayer> DropoutLayer::from_config(const nlohmann::json& c) {
  return make_from_config<DropoutLayer>("Dropout", c, [](config::ConfigReader& r) -> Options {
    return {.rate = r.number("rate", 0.0), .seed = read_seed(r)};
  });
}

Ref<DropoutLayer> Dropout(DropoutLayer::Options options, std::string name) {
  return std::make_shared<DropoutLayer>(options, std::move(name));
}

}  // namespace keel::layers
