#pragma once
// What the global pooling layers share (Keras's GlobalAveragePooling1D/2D, GlobalMaxPooling1D/2D): the mean
// or maximum over every spatial axis of a rank-(2 + spatial_rank) input, channels_last (default) or
// channels_first, giving [batch, channels], or with keepdims the input's rank with each spatial axis 1.
#include <cstdint>
#include <string>
#include <vector>

#include "keel/layers/layer_options.h"

namespace keel::layers {

struct GlobalPoolingOptions {
  std::string data_format = "channels_last";
  bool keepdims = false;
};

class GlobalPoolingLayer : public Layer {
 public:
  using Options = GlobalPoolingOptions;
  const Options& options() const { return options_; }
  Shape compute_output_shape(const Shape& input_shape) const override;
  nlohmann::json get_config() const override;

 protected:
  // spatial_rank: 1 (steps) or 2 (height, width); max: the maximum, else the mean.
  GlobalPoolingLayer(const char* class_name, std::int64_t spatial_rank, bool max, Options options, std::string name);
  Tensor call(const Tensor& x, const CallContext& ctx) override;
  static Options read_options(config::ConfigReader& reader);

 private:
  std::vector<std::int64_t> spatial_axes() const;

  Options options_;
  std::int64_t spatial_rank_;
  bool max_, channels_first_ = false;
};

}  // namespace keel::layers
