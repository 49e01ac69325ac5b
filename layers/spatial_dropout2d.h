#pragma once
// SpatialDropout2D (Keras 3): Dropout of whole feature maps. In training each (sample, channel) is
// kept with probability 1 − rate and scaled by 1 / (1 − rate), the same for every pixel (noise shape
// [N, 1, 1, C], or [N, C, 1, 1] channels_first); identity otherwise. Seeds work as Dropout's.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "keel/layers/call_seeds.h"
#include "keel/layers/layer_options.h"

namespace keel::layers {

class SpatialDropout2DLayer : public Layer {
 public:
  struct Options {
    double rate = 0.0;  // in [0, 1)
    std::string data_format = "channels_last";
    std::optional<std::uint64_t> seed = std::nullopt;
  };
  explicit SpatialDropout2DLayer(Options options, std::string name = "");
  const Options& options() const { return options_; }
  nlohmann::json get_config() const override;
  static std::shared_ptr<SpatialDropout2DLayer> from_config(const nlohmann::json& config);

 protected:
  void build(const Shape& input_shape) override;
  Tensor call(const Tensor& x, const CallContext& ctx) override;

 private:
  Options options_;
  bool channels_first_;
  CallSeeds mask_seeds_;
};

Ref<SpatialDropout2DLayer> SpatialDropout2D(SpatialDropout2DLayer::Options options = {},
                                                        std::string name = "");

}  // namespace keel::layers
