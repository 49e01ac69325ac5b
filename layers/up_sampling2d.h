#pragma once
// UpSampling2D (Keras): repeats rows and columns of a rank-4 input `size` times ("nearest") or resizes it
// by the same factors with bilinear interpolation at half-pixel centers, edges clamped and no antialiasing
// (Keras's ops.image.resize, TF's resize v2). channels_last (default) or channels_first.
#include <memory>
#include <string>

#include "keel/layers/layer_options.h"

namespace keel::layers {

class UpSampling2DLayer : public Layer {
 public:
  struct Options {
    Size2 size = 2;
    std::string data_format = "channels_last";
    std::string interpolation = "nearest";  // nearest | bilinear
  };
  explicit UpSampling2DLayer(Options options, std::string name = "");
  const Options& options() const { return options_; }
  Shape compute_output_shape(const Shape& input_shape) const override;
  nlohmann::json get_config() const override;
  static std::shared_ptr<UpSampling2DLayer> from_config(const nlohmann::json& config);

 protected:
  Tensor call(const Tensor& x, const CallContext& ctx) override;

 private:
  Options options_;
  bool channels_first_ = false, bilinear_ = false;
};

Ref<UpSampling2DLayer> UpSampling2D(UpSampling2DLayer::Options options = {}, std::string name = "");

}  // namespace keel::layers
