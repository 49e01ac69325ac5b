#pragma once
// Softmax (Keras 3's layer): exp(x) / Σ exp(x) over `axis` (one axis or several taken together).
// With a mask (CallContext::mask; true or > 0.5 keeps a position, its shape broadcasts to the
// input's) the masked logits are replaced by -1e9 before the softmax and the output is multiplied
// by the mask afterwards, so masked positions are 0 and a fully masked slice is all 0.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "keel/layers/layer_options.h"

namespace keel::layers {

class SoftmaxLayer : public Layer {
 public:
  struct Options {
    std::vector<std::int64_t> axis = {-1};
  };
  explicit SoftmaxLayer(Options options, std::string name = "");
  const Options& options() const { return options_; }
  nlohmann::json get_config() const override;
  static std::shared_ptr<SoftmaxLayer> from_config(const nlohmann::json& config);

 protected:
  void build(const Shape& input_shape) override;
  Tensor call(const Tensor& x, const CallContext& ctx) override;

 private:
  Tensor masked_logits(const Tensor& x, const Tensor& keep) const;

  Options options_;
};

Ref<SoftmaxLayer> Softmax(SoftmaxLayer::Options options = {}, std::string name = "");

}  // namespace keel::layers
