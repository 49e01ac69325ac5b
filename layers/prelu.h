#pragma once
// PReLU (Keras 3): f(x) = x for x > 0, alpha · x otherwise, with a learned `alpha` of the input's
// per-sample shape. `shared_axes` (1-based input axes, the batch being axis 0) share one alpha
// along those axes: for images [N, H, W, C], {1, 2} gives one alpha per channel, shape [1, 1, C].
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "keel/layers/layer_options.h"

namespace keel::layers {

class PReLULayer : public Layer {
 public:
  struct Options {
    Initializer alpha_initializer = "zeros";
    Regularizer alpha_regularizer = {};
    Constraint alpha_constraint = {};
    std::vector<std::int64_t> shared_axes = {};
  };
  explicit PReLULayer(Options options, std::string name = "");
  const Options& options() const { return options_; }
  const Variable& alpha() const { return alpha_; }
  nlohmann::json get_config() const override;
  static std::shared_ptr<PReLULayer> from_config(const nlohmann::json& config);

 protected:
  void build(const Shape& input_shape) override;
  Tensor call(const Tensor& x, const CallContext& ctx) override;

 private:
  Options options_;
  Variable alpha_;
};

Ref<PReLULayer> PReLU(PReLULayer::Options options = {}, std::string name = "");

}  // namespace keel::layers
