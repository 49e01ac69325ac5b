#pragma once
// RepeatVector (Keras 3): repeats each sample n times, [N, features] -> [N, n, features].
#include <cstdint>
#include <memory>
#include <string>

#include "keel/layers/layer_options.h"

namespace keel::layers {

class RepeatVectorLayer : public Layer {
 public:
  struct Options {
    std::int64_t n = 1;  // >= 1
  };
  explicit RepeatVectorLayer(Options options, std::string name = "");
  const Options& options() const { return options_; }
  Shape compute_output_shape(const Shape& input_shape) const override;
  nlohmann::json get_config() const override;
  static std::shared_ptr<RepeatVectorLayer> from_config(const nlohmann::json& config);

 protected:
  void build(const Shape& input_shape) override;
  Tensor call(const Tensor& x, const CallContext& ctx) override;

 private:
  Options options_;
};

Ref<RepeatVectorLayer> RepeatVector(RepeatVectorLayer::Options options = {}, std::string name = "");

}  // namespace keel::layers
