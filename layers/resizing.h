#pragma once
// Resizing (Keras's preprocessing layer): resizes a batch of images to `height` × `width` as
// tf.image.resize does (half-pixel centers, edges clamped, no antialiasing), with "bilinear" or "nearest"
// interpolation. crop_to_aspect_ratio first takes the largest centered window with the target's aspect
// ratio. Differentiable in its input, so it can sit inside a model. Keras's other interpolations,
// pad_to_aspect_ratio and antialias are refused by name.
#include <memory>
#include <string>

#include "keel/layers/layer_options.h"

namespace keel::layers {

class ResizingLayer : public Layer {
 public:
  struct Options {
    std::int64_t height = 0;  // required
    std::int64_t width = 0;   // required
    std::string interpolation = "bilinear";  // bilinear | nearest
    bool crop_to_aspect_ratio = false;
    bool pad_to_aspect_ratio = false;  // only false
    std::string fill_mode = "constant";
    double fill_value = 0.0;
    bool antialias = false;  // only false
    std::string data_format = "channels_last";
  };
  explicit ResizingLayer(Options options, std::string name = "");
  const Options& options() const { return options_; }
  Shape compute_output_shape(const Shape& input_shape) const override;
  nlohmann::json get_config() const override;
  static std::shared_ptr<ResizingLayer> from_config(const nlohmann::json& config);

 protected:
  Tensor call(const Tensor& x, const CallContext& ctx) override;

 private:
  Options options_;
  bool channels_first_ = false;
};

Ref<ResizingLayer> Resizing(ResizingLayer::Options options, std::string name = "");

}  // namespace keel::layers
