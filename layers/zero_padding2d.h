#pragma once
// ZeroPadding2D (Keras): pads the two spatial axes of a rank-4 input with zeros.
#include <memory>
#include <string>

#include "keel/layers/layer_options.h"

namespace keel::layers {

class ZeroPadding2DLayer : public Layer {
 public:
  struct Options {
    Padding2 padding = 1;  // int, {h, w} or {{top, bottom}, {left, right}}
    std::string data_format = "channels_last";
  };
  explicit ZeroPadding2DLayer(Options options, std::string name = "");
  const Options& options() const { return options_; }
  Shape compute_output_shape(const Shape& input_shape) const override;
  nlohmann::json get_config() const override;
  static std::shared_ptr<ZeroPadding2DLayer> from_config(const nlohmann::json& config);

 protected:
  Tensor call(const Tensor& x, const CallContext& ctx) override;

 private:
  Options options_;
  bool channels_first_ = false;
};

Ref<ZeroPadding2DLayer> ZeroPadding2D(ZeroPadding2DLayer::Options options = {}, std::string name = "");

}  // namespace keel::layers
