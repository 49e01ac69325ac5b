#pragma once
// MaxPooling1D and AveragePooling1D (Keras): rank-3 input [batch, steps, channels] (channels_last,
// default) or [batch, channels, steps]; strides default to pool_size; average pooling with "same" padding
// counts only real inputs. Computed by the 2-D pooling ops on a height-1 view.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "keel/layers/layer_options.h"

namespace keel::layers {

struct Pooling1DOptions {
  std::int64_t pool_size = 2;
  std::optional<std::int64_t> strides = std::nullopt;  // pool_size when unset
  std::string padding = "valid";                       // valid | same
  std::string data_format = "channels_last";
};

// What the two pooling layers share; the class name picks the reduction.
class Pooling1DLayer : public Layer {
 public:
  using Options = Pooling1DOptions;
  const Options& options() const { return options_; }
  Shape compute_output_shape(const Shape& input_shape) const override;
  nlohmann::json get_config() const override;

 protected:
  Pooling1DLayer(const char* class_name, Options options, std::string name);
  Tensor call(const Tensor& x, const CallContext& ctx) override;
  static Options read_options(config::ConfigReader& reader);

 private:
  Options options_;
  std::int64_t strides_ = 1;
  bool same_padding_ = false, channels_first_ = false;
};

class MaxPooling1DLayer : public Pooling1DLayer {
 public:
  explicit MaxPooling1DLayer(Options options, std::string name = "");
  static std::shared_ptr<MaxPooling1DLayer> from_config(const nlohmann::json& config);
};

class AveragePooling1DLayer : public Pooling1DLayer {
 public:
  explicit AveragePooling1DLayer(Options options, std::string name = "");
  static std::shared_ptr<AveragePooling1DLayer> from_config(const nlohmann::json& config);
};

Ref<MaxPooling1DLayer> MaxPooling1D(Pooling1DOptions options = {}, std::string name = "");
Ref<AveragePooling1DLayer> AveragePooling1D(Pooling1DOptions options = {}, std::string name = "");

}  // namespace keel::layers
