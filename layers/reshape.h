#pragma once
// Reshape (Keras): [batch, ...] -> [batch, target_shape...]; one target dimension may be -1.
#include <memory>
#include <string>

#include "keel/layers/layer_options.h"

namespace keel::layers {

class ReshapeLayer : public Layer {
 public:
  struct Options {
    Shape target_shape = {};  // without the batch axis
  };
  explicit ReshapeLayer(Options options, std::string name = "");
  const Options& options() const { return options_; }
  Shape compute_output_shape(const Shape& input_shape) const override;
  nlohmann::json get_config() const override;
  static std::shared_ptr<ReshapeLayer> from_config(const nlohmann::json& config);

 protected:
  Tensor call(const Tensor& x, const CallContext& ctx) override;

 private:
  Options options_;
};

Ref<ReshapeLayer> Reshape(ReshapeLayer::Options options = {}, std::string name = "");

}  // namespace keel::layers
