#pragma once
// Symbolic tensors (Keras's KerasTensor) and the layer calls that connect them: the graph a functional
// model is made of (docs/functional.md). Calling a layer on a SymbolicTensor builds the layer and records
// a Node instead of computing; keel::Input (models/functional.h) makes the first ones.
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "keel/core/dtype.h"
#include "keel/core/shape.h"
#include "keel/core/tensor.h"

namespace keel::layers {
class Layer;
struct Node;
}  // namespace keel::layers

namespace keel {

class SymbolicTensor {
 public:
  SymbolicTensor() = default;
  bool defined() const { return data_ != nullptr; }

  // Batch axis first, -1 for the batch size and for every size left free (Keras's None).
  const Shape& shape() const;
  DType dtype() const;
  // The layer call that produced this tensor (an InputLayer's for a model input).
  const std::shared_ptr<layers::Node>& node() const;
  // A zero-filled batch of one sample, which every symbolic call runs through the layer it calls so that
  // its output's shape and dtype are the real ones (the layer builds from it, or from shape() when that
  // has free sizes, so that no weight takes its size from a free axis).
  const Tensor& sample() const;
  // The size a free axis of a model input has in sample(); probe() doubles it.
  static constexpr std::int64_t free_size_in_sample = 32;
  // When the shape has free sizes besides the batch size: a second sample, with every free size twice
  // the sample's. A symbolic call runs it too, and an output size that differs between the two is free.
  // Undefined when every size but the batch size is known.
  const Tensor& probe() const;
  // Identity: two copies of one symbolic tensor are the same tensor.
  bool same_as(const SymbolicTensor& other) const { return data_ == other.data_; }
  const void* id() const { return data_.get(); }

  // The output of `node`, whose call on the inputs' samples gave `sample` (and on their probes, `probe`).
  static SymbolicTensor produced_by(std::shared_ptr<layers::Node> node, Tensor sample, Tensor probe = {});

 private:
  struct Data {
    Shape shape;
    Tensor sample;
    Tensor probe;
    std::shared_ptr<layers::Node> node;
  };
  std::shared_ptr<const Data> data_;
};

}  // namespace keel

namespace keel::layers {

// One call of a layer in a graph: the layer, the symbolic tensors it was called on (none for an
// InputLayer) and the `training` flag given to that call, if any. A layer called twice (a shared
// layer) has two nodes and one set of weights.
struct Node {
  std::shared_ptr<Layer> layer;
  std::vector<SymbolicTensor> inputs;
  std::optional<bool> training;
  Shape output_shape;  // batch axis -1, as the output tensor's
};

// The options of a symbolic call, as Keras's call keywords: `base(x, {.training = false})` keeps a
// model's BatchNormalization in inference mode whatever the outer call's mode.
struct CallOptions {
  std::optional<bool> training = std::nullopt;
};

}  // namespace keel::layers
