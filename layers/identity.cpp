#include "keel/layers/identity.h"

namespace keel::layers {

IdentityLayer::IdentityLayer(Options, std::string name) : Layer("Identity", std::move(name)) {}

Tensor IdentityLayer::call(const Tensor& x, const CallContext&) { return x; }

std::shared_ptr<IdentityLayer> IdentityLayer::from_config(const nlohmann::json& c) {
  return make_from_config<IdentityLayer>("Identity", c, [](config::ConfigReader&) -> Options { return {}; });
}

Ref<IdentityLayer> Identity(IdentityLayer::Options options, std::string name) {
  return std::make_shared<IdentityLayer>(options, std::move(name));
}

}  // namespace keel::layers
