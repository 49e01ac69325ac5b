#pragma once
// GaussianNoise (Keras 3): in training adds zero-mean normal noise of standard deviation `stddev`
// (in [0, 1], as Keras requires) to every input; identity otherwise. Seeds work as Dropout's.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "keel/layers/call_seeds.h"
#include "keel/layers/layer_options.h"

namespace keel::layers {

class GaussianNoiseLayer : public Layer {
 public:
  struct Options {
    double stddev = 0.0;
    std::optional<std::uint64_t> seed = std::nullopt;
  };
  explicit GaussianNoiseLayer(Options options, std::string name = "");
  const Options& options() const { return options_; }
  nlohmann::json get_config() const override;
  static std::shared_ptr<GaussianNoiseLayer> from_config(const nlohmann::json& config);

 protected:
  Tensor call(const Tensor& x, const CallContext& ctx) override;

 private:
  Options options_;
  CallSeeds noise_seeds_;
};

Ref<GaussianNoiseLayer> GaussianNoise(GaussianNoiseLayer::Options options = {}, std::string name = "");

}  // namespace keel::layers
