#pragma once
// Cropping2D (Keras): removes rows and columns from the edges of a rank-4 input's two spatial axes.
#include <memory>
#include <string>

#include "keel/layers/layer_options.h"

namespace keel::layers {

class Cropping2DLayer : public Layer {
 public:
  struct Options {
    Padding2 cropping = 0;  // int, {h, w} or {{top, bottom}, {left, right}}
    std::string data_format = "channels_last";
  };
  explicit Cropping2DLayer(Options options, std::string name = "");
  const Options& options() const { return options_; }
  Shape compute_output_shape(const Shape& input_shape) const override;
  nlohmann::json get_config() const override;
  static std::shared_ptr<Cropping2DLayer> from_config(const nlohmann::json& config);

 protected:
  Tensor call(const Tensor& x, const CallContext& ctx) override;

 private:
  Options options_;
  bool channels_first_ = false;
};

Ref<Cropping2DLayer> Cropping2D(Cropping2DLayer::Options options = {}, std::string name = "");

}  // namespace keel::layers
