#pragma once
// MaxPooling2D and AveragePooling2D (Keras): rank-4 input, channels_last (default) or
// channels_first; strides default to pool_size; average pooling with "same" padding counts only
// real inputs.
#include <memory>
#include <optional>
#include <string>

#include "keel/layers/layer_options.h"

namespace keel::layers {

struct Pooling2DOptions {
  Size2 pool_size = 2;
  std::optional<Size2> strides = std::nullopt;  // pool_size when unset
  std::string padding = "valid";                // valid | same
  std::string data_format = "channels_last";
};

// What the two pooling layers share; `max` picks the reduction.
class Pooling2DLayer : public Layer {
 public:
  using Options = Pooling2DOptions;
  const Options& options() const { return options_; }
  Shape compute_output_shape(const Shape& input_shape) const override;
  nlohmann::json get_config() const override;

 protected:
  Pooling2DLayer(const char* class_name, Options options, std::string name);
  Tensor call(const Tensor& x, const CallContext& ctx) override;
  static Options read_options(config::ConfigReader& reader);

 private:
  Options options_;
  Size2 strides_;
  bool same_padding_ = false, channels_first_ = false;
};

class MaxPooling2DLayer : public Pooling2DLayer {
 public:
  explicit MaxPooling2DLayer(Options options, std::string name = "");
  static std::shared_ptr<MaxPooling2DLayer> from_config(const nlohmann::json& config);
};

class AveragePooling2DLayer : public Pooling2DLayer {
 public:
  explicit AveragePooling2DLayer(Options options, std::string name = "");
  static std::shared_ptr<AveragePooling2DLayer> from_config(const nlohmann::json& config);
};

Ref<MaxPooling2DLayer> MaxPooling2D(Pooling2DOptions options = {}, std::string name = "");
Ref<AveragePooling2DLayer> AveragePooling2D(Pooling2DOptions options = {}, std::string name = "");

}  // namespace keel::layers
