#pragma once
// Concatenate (Keras): joins a list of tensors along `axis`; every other axis must match.
#include <memory>
#include <string>
#include <vector>

#include "keel/layers/layer_options.h"

namespace keel::layers {

class ConcatenateLayer : public Layer {
 public:
  struct Options {
    std::int64_t axis = -1;
  };
  explicit ConcatenateLayer(Options options, std::string name = "");
  const Options& options() const { return options_; }
  bool takes_input_list() const override { return true; }
  // ValueError naming the layer and the shapes when they differ outside the axis.
  Shape concatenated_shape(const std::vector<Shape>& input_shapes) const;
  nlohmann::json get_config() const override;
  static std::shared_ptr<ConcatenateLayer> from_config(const nlohmann::json& config);

 protected:
  void build_list(const std::vector<Shape>& input_shapes) override;
  Tensor call(const Tensor& x, const CallContext& ctx) override;
  Tensor call_list(const std::vector<Tensor>& inputs, const CallContext& ctx) override;

 private:
  Options options_;
};

Ref<ConcatenateLayer> Concatenate(ConcatenateLayer::Options options = {}, std::string name = "");

}  // namespace keel::layers
