#pragma once
// Permute (Keras 3): reorders the non-batch axes; `dims` is a permutation of 1 .. rank − 1 (1-based,
// the batch being axis 0): {2, 1} swaps the two axes of [N, a, b] into [N, b, a].
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "keel/layers/layer_options.h"

namespace keel::layers {

class PermuteLayer : public Layer {
 public:
  struct Options {
    std::vector<std::int64_t> dims = {};
  };
  explicit PermuteLayer(Options options, std::string name = "");
  const Options& options() const { return options_; }
  Shape compute_output_shape(const Shape& input_shape) const override;
  nlohmann::json get_config() const override;
  static std::shared_ptr<PermuteLayer> from_config(const nlohmann::json& config);

 protected:
  void build(const Shape& input_shape) override;
  Tensor call(const Tensor& x, const CallContext& ctx) override;

 private:
  Options options_;
};

Ref<PermuteLayer> Permute(PermuteLayer::Options options = {}, std::string name = "");

}  // namespace keel::layers
