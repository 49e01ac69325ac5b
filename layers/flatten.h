#pragma once
// Flatten (Keras): [batch, ...] -> [batch, prod(...)] in channels_last order; a channels_first
// input is moved to channels_last first, as Keras does.
#include <memory>
#include <string>

#include "keel/layers/layer_options.h"

namespace keel::layers {

class FlattenLayer : public Layer {
 public:
  struct Options {
    std::string data_format = "channels_last";
  };
  explicit FlattenLayer(Options options, std::string name = "");
  const Options& options() const { return options_; }
  Shape compute_output_shape(const Shape& input_shape) const override;
  nlohmann::json get_config() const override;
  static std::shared_ptr<FlattenLayer> from_config(const nlohmann::json& config);

 protected:
  Tensor call(const Tensor& x, const CallContext& ctx) override;

 private:
  Options options_;
  bool channels_first_ = false;
};

Ref<FlattenLayer> Flatten(FlattenLayer::Options options = {}, std::string name = "");

}  // namespace keel::layers
