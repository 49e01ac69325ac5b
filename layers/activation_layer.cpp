#include "keel/layers/activation_layer.h"

namespace keel::layers {

ActivationLayer::ActivationLayer(Options options, std::string name)
    : Layer("Activation", std::move(name)), options_(std::move(options)) {}

Tensor ActivationLayer::call(const Tensor& x, const CallContext&) { return options_.activation(x); }

nlohmann::json ActivationLayer::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["activation"] = to_json(options_.activation);
  return c;
}

std::shared_ptr<ActivationLayer> ActivationLayer::from_config(const nlohmann::json& c) {
  return make_from_config<ActivationLayer>("Activation", c, [](config::ConfigReader& r) -> Options {
    return {.activation = read_activation(r)};
  });
}

Ref<ActivationLayer> Activation(ActivationLayer::Options options, std::string name) {
  return std::make_shared<ActivationLayer>(std::move(options), std::move(name));
}

}  // namespace keel::layers
