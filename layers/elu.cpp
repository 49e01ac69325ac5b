#include "keel/layers/elu.h"

#include "keel/autograd/ops.h"
#include "keel/layers/detail/argument_checks.h"

namespace keel::layers {

ELULayer::ELULayer(Options options, std::string name) : Layer("ELU", std::move(name)), options_(options) {
  detail::require_finite(*this, "alpha", options_.alpha);
}

Tensor ELULayer::call(const Tensor& x, const CallContext&) { return ops::elu(x, options_.alpha); }

nlohmann::json ELULayer::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["alpha"] = options_.alpha;
  return c;
}

std::shared_ptr<ELULayer> ELULayer::from_config(const nlohmann::json& c) {
  return make_from_config<ELULayer>("ELU", c, [](config::ConfigReader& r) -> Options {
    return {.alpha = r.number("alpha", 1.0)};
  });
}

Ref<ELULayer> ELU(ELULayer::Options options, std::string name) {
  return std::make_shared<ELULayer>(options, std::move(name));
}

}  // namespace keel::layers
