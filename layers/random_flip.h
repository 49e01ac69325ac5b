#pragma once
// RandomFlip (Keras 3): in training, flips each image with probability 1/2 — left-right for
// "horizontal", top-bottom for "vertical", and both together for "horizontal_and_vertical" (one
// draw per image, as Keras 3 does); identity otherwise. Images are channels_last, batched
// [N, H, W, C] or a single [H, W, C]. Seeded like Dropout: a seeded layer draws a reproducible
// sequence of flips, an unseeded one takes a fresh seed from keel's global stream on every call.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "keel/layers/call_seeds.h"
#include "keel/layers/layer_options.h"

namespace keel::layers {

class RandomFlipLayer : public Layer {
 public:
  struct Options {
    std::string mode = "horizontal_and_vertical";  // "horizontal", "vertical" or "horizontal_and_vertical"
    std::optional<std::uint64_t> seed = std::nullopt;
  };
  explicit RandomFlipLayer(Options options, std::string name = "");
  const Options& options() const { return options_; }
  nlohmann::json get_config() const override;
  static std::shared_ptr<RandomFlipLayer> from_config(const nlohmann::json& config);

 protected:
  Tensor call(const Tensor& x, const CallContext& ctx) override;

 private:
  Options options_;
  bool horizontal_ = false, vertical_ = false;
  CallSeeds flip_seeds_;
};

Ref<RandomFlipLayer> RandomFlip(RandomFlipLayer::Options options = {}, std::string name = "");

}  // namespace keel::layers
