#include "keel/layers/leaky_relu.h"

#include "keel/autograd/ops.h"
#include "keel/layers/detail/argument_checks.h"

namespace keel::layers {

LeakyReLULayer::LeakyReLULayer(Options options, std::string name)
    : Layer("LeakyReLU", std::move(name)), options_(options) {
  detail::require_non_negative(*this, "negative_slope", options_.negative_slope);
}

Tensor LeakyReLULayer::call(const Tensor& x, const CallContext&) { return ops::leaky_relu(x, options_.negative_slope); }

nlohmann::json LeakyReLULayer::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["negative_slope"] = options_.negative_slope;
  return c;
}

std::shared_ptr<LeakyReLULayer> LeakyReLULayer::from_config(const nlohmann::json& c) {
  return make_from_config<LeakyReLULayer>("LeakyReLU", c, [](config::ConfigReader& r) -> Options {
    return {.negative_slope = r.number("negative_slope", 0.3)};
  });
}

Ref<LeakyReLULayer> LeakyReLU(LeakyReLULayer::Options options, std::string name) {
  return std::make_shared<LeakyReLULayer>(options, std::move(name));
}

}  // namespace keel::layers
