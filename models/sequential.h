#pragma once
// Sequential: a linear stack of layers, itself a Model (and so a Layer: a trained Sequential can
// sit inside another one and be frozen — the fine-tuning path). As in Keras 3, once its input shape is
// known it runs as a functional graph of its layers: one code path, and one set of graph passes, for both.
#include <memory>
#include <string>
#include <vector>

#include "keel/layers/layer.h"
#include "keel/models/model.h"

namespace keel {
class Functional;

class Sequential : public Model {
 public:
  // Builds at once when the first layer is an Input followed by at least one layer (Keras 3).
  explicit Sequential(std::vector<layers::LayerPtr> layers = {}, std::string name = "");

  // Appends a layer; a duplicate layer name is a ValueError. An Input, allowed only first, declares
  // the input shape and is not counted in layers() (Keras 3). As in Keras, the model builds when its
  // input shape is known: a layer added to a built model is built from the previous output, and one
  // that does not fit it (ShapeError) is not added.
  void add(layers::LayerPtr layer);
  // Removes and returns the last layer (UsageError when empty); a built model stays built, its output
  // now the new last layer's.
  layers::LayerPtr pop();
  const std::vector<layers::LayerPtr>& layers() const { return layers_; }
  // ValueError naming the missing layer.
  layers::LayerPtr get_layer(const std::string& name) const;

  std::vector<layers::LayerPtr> sublayers() const override { return layers_; }
  // Builds now when the first layer is an Input giving every size (Keras builds such models on
  // construction); a free size (-1) waits for the first call.
  bool build_from_declared_input() override;
  Shape compute_output_shape(const Shape& input_shape) const override;
  // Sets the dtype of the model and of every layer inside; a UsageError naming the model (and the
  // built layer) once the model or any layer in it is built, before anything changes.
  void set_dtype(DType dtype) override;
  nlohmann::json get_config() const override;
  // The config get_config() writes ({"name", "trainable", "dtype", "layers", "build_input_shape"}); a
  // missing, unknown or mistyped key is a ValueError naming Sequential and the key.
  static std::shared_ptr<Sequential> from_config(const nlohmann::json& config);

 protected:
  void build(const Shape& input_shape) override;
  Tensor call(const Tensor& x, const layers::CallContext& ctx) override;

 private:
  std::vector<layers::LayerPtr> layers_;
  // Appends without building (add() builds).
  void append(layers::LayerPtr layer);
  // Calls the stack on a symbolic input of `input_shape` (one zero sample: the layers not yet built build)
  // and makes the graph the model runs.
  void rebuild_graph(const Shape& input_shape);

  layers::LayerPtr input_;
  std::shared_ptr<Functional> graph_;  // null until built, and when the stack is empty
};

}  // namespace keel
