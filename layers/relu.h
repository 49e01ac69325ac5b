#pragma once
// ReLU (Keras 3's layer). With threshold t, max_value m and negative_slope a:
//   f(x) = min(x, m)       for x > t
//   f(x) = a * (x - t)     for x <= t
// (Keras 3 computes x·[x > t], clips it to [0, m], then subtracts a·relu(t − x).) Defaults give
// max(x, 0); MobileNetV2's ReLU(6.) is {.max_value = 6}. All three arguments must be >= 0.
#include <memory>
#include <optional>
#include <string>

#include "keel/layers/layer_options.h"

namespace keel::layers {

class ReLULayer : public Layer {
 public:
  struct Options {
    std::optional<double> max_value = std::nullopt;  // none: unbounded
    double negative_slope = 0.0;
    double threshold = 0.0;
  };
  explicit ReLULayer(Options options, std::string name = "");
  const Options& options() const { return options_; }
  nlohmann::json get_config() const override;
  static std::shared_ptr<ReLULayer> from_config(const nlohmann::json& config);

 protected:
  Tensor call(const Tensor& x, const CallContext& ctx) override;

 private:
  Options options_;
};

Ref<ReLULayer> ReLU(ReLULayer::Options options = {}, std::string name = "");

}  // namespace keel::layers
