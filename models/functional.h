#pragma once
// Functional models (Keras's keras.Model(inputs, outputs)): a graph of layer calls recorded on symbolic
// tensors, with residual connections, several inputs and outputs, shared layers and models nested as
// layers (docs/functional.md).
//
//   auto inputs = keel::Input({.shape = {32, 32, 3}});
//   auto x = layers::Conv2D({.filters = 16, .kernel_size = 3, .padding = "same"})(inputs);
//   auto y = layers::Activation({.activation = "relu"})(layers::BatchNormalization({})(x));
//   y = layers::Add({})({x, y});
//   auto outputs = layers::Dense({.units = 10})(layers::GlobalAveragePooling2D({})(y));
//   auto model = keel::Model::functional(inputs, outputs, "resnet_block");
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "keel/layers/input.h"
#include "keel/layers/symbolic_tensor.h"
#include "keel/models/model.h"

namespace keel {
namespace models::detail {
struct GraphStep;
}

// Keras's keras.Input: a model input of the given per-sample shape (no batch axis); -1 (Keras's None)
// for a size that may differ from call to call.
struct InputOptions {
  Shape shape = {};
  std::optional<DType> dtype = std::nullopt;  // default: config::floatx(); DType::int64 for index inputs
  std::string name = "";
};
SymbolicTensor Input(InputOptions options);
// The symbolic tensor of an existing InputLayer. Sizes the layer leaves free (-1) are taken from
// `sizes`, a per-sample shape (no batch axis), when given; otherwise they stay free.
SymbolicTensor Input(const std::shared_ptr<layers::InputLayer>& layer, const Shape& sizes = {});

class Functional : public Model {
 public:
  // ValueError naming the problem: an input that is not a keel::Input, an output that does not depend
  // on the inputs (a disconnected graph), an input no output uses, two layers with one name.
  Functional(std::vector<SymbolicTensor> inputs, std::vector<SymbolicTensor> outputs, std::string name = "");
  ~Functional() override;

  // Every layer, InputLayers included, in Keras's order: from the inputs to the outputs (by depth),
  // ties in the order the graph was traversed from the outputs.
  const std::vector<layers::LayerPtr>& layers() const { return layers_; }
  // ValueError naming the missing layer and the model's layers.
  layers::LayerPtr get_layer(const std::string& name) const;
  const std::vector<SymbolicTensor>& inputs() const { return inputs_; }
  const std::vector<SymbolicTensor>& outputs() const { return outputs_; }
  // Keras's model.get_layer(name).output: the symbolic output of that layer's call in this model, to
  // build a new model from part of this one (a fine-tuning base). ValueError when the layer is not in
  // the model or is called more than once in it.
  SymbolicTensor output_of(const std::string& layer_name) const;
  // The layer calls in the order they run (a shared layer appears once per call).
  const std::vector<std::shared_ptr<layers::Node>>& nodes() const { return nodes_; }

  // Runs the graph: one tensor per input, in inputs() order; returns one per output.
  // A mask in `ctx` reaches the Input layers and the layers that read the model's inputs.
  std::vector<Tensor> call_all(const std::vector<Tensor>& inputs, const layers::CallContext& ctx = {}) override;
  // The Input layers' and the output layers' names: the keys of fit's maps, the prefixes of per-output
  // history keys ("dense_1_loss").
  std::vector<std::string> input_names() const override;
  std::vector<std::string> output_names() const override;

  std::vector<layers::LayerPtr> sublayers() const override { return layers_; }
  bool takes_input_list() const override { return inputs_.size() > 1; }
  Shape compute_output_shape(const Shape& input_shape) const override;
  // The model is built when it is made: a UsageError.
  void set_dtype(DType dtype) override;
  // Keras's functional config: {"name", "trainable", "layers": [{"class_name", "config", "name",
  // "inbound_nodes"}...], "input_layers", "output_layers"}.
  nlohmann::json get_config() const override;
  // Reads get_config()'s form, and Keras 2's inbound_nodes ([[["name", node, tensor, {kwargs}]]]).
  static std::shared_ptr<Functional> from_config(const nlohmann::json& config);

 protected:
  Tensor call(const Tensor& x, const layers::CallContext& ctx) override;
  void build_list(const std::vector<Shape>& input_shapes) override;
  Tensor call_list(const std::vector<Tensor>& inputs, const layers::CallContext& ctx) override;

 private:
  std::vector<SymbolicTensor> inputs_, outputs_;
  std::vector<std::shared_ptr<layers::Node>> nodes_;
  std::vector<SymbolicTensor> node_outputs_;  // each node's output, as in nodes_
  std::vector<layers::LayerPtr> layers_;
  std::vector<models::detail::GraphStep> steps_;  // the execution plan, after the graph passes
  std::vector<std::size_t> input_slots_, output_slots_;
  std::size_t slot_count_ = 0;
};

}  // namespace keel
