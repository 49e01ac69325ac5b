#include "keel/layers/rescaling.h"

#include <fmt/format.h>

#include <cmath>

#include "keel/autograd/ops.h"
#include "keel/core/error.h"

namespace keel::layers {

RescalingLayer::RescalingLayer(Options options, std::string name)
    : Layer("Rescaling", std::move(name)), options_(options) {
  if (!std::isfinite(options_.scale) || !std::isfinite(options_.offset))
    throw ValueError(fmt::format("Rescaling '{}': scale and offset must be finite, got scale {} and offset {}",
                                 this->name(), options_.scale, options_.offset));
}

Tensor RescalingLayer::call(const Tensor& x, const CallContext&) { return x * options_.scale + options_.offset; }

nlohmann::json RescalingLayer::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["scale"] = options_.scale;
  c["offset"] = options_.offset;
  return c;
}

std::shared_ptr<RescalingLayer> RescalingLayer::from_config(const nlohmann::json& c) {
  return make_from_config<RescalingLayer>("Rescaling", c, [](config::ConfigReader& r) -> Options {
    return {.scale = r.number("scale", 1.0), .offset = r.number("offset", 0.0)};
  });
}

Ref<RescalingLayer> Rescaling(RescalingLayer::Options options, std::string name) {
  return std::make_shared<RescalingLayer>(options, std::move(name));
}

}  // namespace keel::layers
