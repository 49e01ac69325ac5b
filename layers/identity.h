#pragma once
// Identity (Keras 3): returns its input unchanged, for a model that needs a layer doing nothing (an
// optional block switched off).
#include <memory>
#include <string>

#include "keel/layers/layer_options.h"

namespace keel::layers {

class IdentityLayer : public Layer {
 public:
  struct Options {};
  explicit IdentityLayer(Options options, std::string name = "");
  Options options() const { return {}; }
  static std::shared_ptr<IdentityLayer> from_config(const nlohmann::json& config);

 protected:
  Tensor call(const Tensor& x, const CallContext& ctx) override;
};

Ref<IdentityLayer> Identity(IdentityLayer::Options options = {}, std::string name = "");

}  // namespace keel::layers
