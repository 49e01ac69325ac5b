#pragma once
// Sequential: a linear stack of layers, itself a Model (and so a Layer: a trained Sequential can
// sit inside another one and be frozen — the fine-tuning path).
#include <memory>
#include <string>
#include <vector>

#include "keel/layers/layer.h"
#include "keel/models/model.h"

namespace keel {

class Sequential : public Model {
 public:
  explicit Sequential(std::vector<layers::LayerPtr> layers = {}, std::string name = "");

  // Appends a layer; a duplicate layer name is a ValueError. An Input, allowed only first, declares
  // the input shape and is not counted in layers() (Keras 3).
  void add(layers::LayerPtr layer);
  // Removes the last layer (UsageError when empty).
  void pop();
  const std::vector<layers::LayerPtr>& layers() const { return layers_; }
  // ValueError naming the missing layer.
  layers::LayerPtr get_layer(const std::string& name) const;

  std::vector<layers::LayerPtr> sublayers() const override { return layers_; }
  // Builds now when the first layer is an Input (Keras builds such models on construction).
  bool build_from_declared_input() override;
  Shape compute_output_shape(const Shape& input_shape) const override;
  nlohmann::json get_config() const override;
  static std::shared_ptr<Sequential> from_config(const nlohmann::json& config);

 protected:
  void build(const Shape& input_shape) override;
  Tensor call(const Tensor& x, const layers::CallContext& ctx) override;

 private:
  std::vector<layers::LayerPtr> layers_;
  layers::LayerPtr input_;
};

}  // namespace keel
