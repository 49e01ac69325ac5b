#pragma once
// GlobalAveragePooling2D and GlobalMaxPooling2D (Keras): rank-4 input -> [batch, channels]
// ([batch, 1, 1, channels] or [batch, channels, 1, 1] with keepdims).
#include <memory>
#include <string>

#include "keel/layers/layer_options.h"

namespace keel::layers {

struct GlobalPooling2DOptions {
  std::string data_format = "channels_last";
  bool keepdims = false;
};

class GlobalPooling2DLayer : public Layer {
 public:
  using Options = GlobalPooling2DOptions;
  const Options& options() const { return options_; }
  Shape compute_output_shape(const Shape& input_shape) const override;
  nlohmann::json get_config() const override;

 protected:
  GlobalPooling2DLayer(const char* class_name, Options options, std::string name);
  Tensor call(const Tensor& x, const CallContext& ctx) override;
  static Options read_options(config::ConfigReader& reader);

 private:
  Options options_;
  bool channels_first_ = false;
};

class GlobalAveragePooling2DLayer : public GlobalPooling2DLayer {
 public:
  explicit GlobalAveragePooling2DLayer(Options options, std::string name = "");
  static std::shared_ptr<GlobalAveragePooling2DLayer> from_config(const nlohmann::json& config);
};

class GlobalMaxPooling2DLayer : public GlobalPooling2DLayer {
 public:
  explicit GlobalMaxPooling2DLayer(Options options, std::string name = "");
  static std::shared_ptr<GlobalMaxPooling2DLayer> from_config(const nlohmann::json& config);
};

Ref<GlobalAveragePooling2DLayer> GlobalAveragePooling2D(GlobalPooling2DOptions options = {},
                                                                    std::string name = "");
Ref<GlobalMaxPooling2DLayer> GlobalMaxPooling2D(GlobalPooling2DOptions options = {}, std::string name = "");

}  // namespace keel::layers
