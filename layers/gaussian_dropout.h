#pragma once
// GaussianDropout (Keras 3): in training multiplies every input by normal noise of mean 1 and standard
// deviation sqrt(rate / (1 − rate)); identity otherwise. Seeds work as Dropout's.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "keel/layers/call_seeds.h"
#include "keel/layers/layer_options.h"

namespace keel::layers {

class GaussianDropoutLayer : public Layer {
 public:
  struct Options {
    double rate = 0.0;  // in [0, 1)
    std::optional<std::uint64_t> seed = std::nullopt;
  };
  explicit GaussianDropoutLayer(Options options, std::string name = "");
  const Options& options() const { return options_; }
  nlohmann::json get_config() const override;
  static std::shared_ptr<GaussianDropoutLayer> from_config(const nlohmann::json& config);

 protected:
  Tensor call(const Tensor& x, const CallContext& ctx) override;

 private:
  Options options_;
  CallSeeds noise_seeds_;
};

Ref<GaussianDropoutLayer> GaussianDropout(GaussianDropoutLayer::Options options = {},
                                                      std::string name = "");

}  // namespace keel::layers
