#pragma once
// Dropout (Keras): in training, zeroes each input with probability `rate` and scales the rest by
// 1 / (1 - rate) (inverted dropout); identity otherwise. A seeded layer draws a reproducible
// sequence of masks (call k uses a seed derived from (seed, k)); an unseeded one takes a fresh
// seed from keel's global stream on every call.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "keel/layers/call_seeds.h"
#include "keel/layers/layer_options.h"

namespace keel::layers {

class DropoutLayer : public Layer {
 public:
  struct Options {
    double rate = 0.0;  // in [0, 1)
    std::optional<std::uint64_t> seed = std::nullopt;
  };
  explicit DropoutLayer(Options options, std::string name = "");
  const Options& options() const { return options_; }
  nlohmann::json get_config() const override;
  static std::shared_ptr<DropoutLayer> from_config(const nlohmann::json& config);

 protected:
  Tensor call(const Tensor& x, const CallContext& ctx) override;

 private:
  Options options_;
  CallSeeds mask_seeds_;
};

Ref<DropoutLayer> Dropout(DropoutLayer::Options options = {}, std::string name = "");

}  // namespace keel::layers
