#pragma once
// The Layer contract (Keras's, in C++; docs/design.md#the-layer-contract and docs/semantics.md §2). A layer
// builds its weights on the first call from the input shape, owns them as Variables, and computes with
// differentiable ops, so autograd supplies the backward pass. Layers are held by std::shared_ptr.
//
// Naming convention, followed by every keel layer (one .h/.cpp pair per layer in layers/):
//   class keel::layers::DenseLayer : public Layer {           // the type: dynamic_pointer_cast to it
//    public:
//     struct Options { std::int64_t units = 0; Activation activation = {}; ... };  // all defaulted
//     explicit DenseLayer(Options options, std::string name = "");
//     const Options& options() const;
//     static std::shared_ptr<DenseLayer> from_config(const nlohmann::json& config);
//   };
//   std::shared_ptr<DenseLayer> keel::layers::Dense(DenseLayer::Options options = {}, std::string name = "");
// so users write, as in Keras:
//   auto dense = layers::Dense({.units = 10, .activation = "relu"});   // std::shared_ptr<DenseLayer>
//   auto bn = layers::BatchNormalization({.momentum = 0.9f});          // BatchNormalizationLayer
// The factory carries the Keras name; the class appends "Layer" (a class and a function cannot
// share a name cleanly). class_name() and serialize() use the Keras name ("Dense"), and
// layers::deserialize (layers/registry.h) maps it back to <Class>Layer::from_config.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "keel/autograd/variable.h"
#include "keel/core/dtype_policy.h"
#include "keel/core/tensor.h"
#include "keel/layers/constraints.h"
#include "keel/layers/initializers.h"
#include "keel/layers/regularizers.h"
#include "keel/layers/symbolic_tensor.h"

namespace keel::layers {

// Variable updates a layer makes during a call (BatchNormalization's moving statistics). Inside
// fit they are staged here and committed with the optimizer step; elsewhere they apply at once.
struct StateUpdates {
  std::vector<std::pair<Variable, Tensor>> pending;
  void commit();
};

// Per-call flags. A container passes its context to the layers inside it; an explicit flag given
// to an inner call applies to that call only.
struct CallContext {
  bool training = false;
  Tensor mask = {};                   // optional boolean mask
  StateUpdates* staged = nullptr;     // where state updates go; null: apply at once
  // Index of this batch's first sample within the global batch when data-parallel replicas each get a
  // share of it (distribute::share_of); random ops draw per global sample, so masks do not depend on
  // how the batch is split.
  std::int64_t first_sample = 0;
};

// What a built layer accepts, checked on every call (Keras's InputSpec).
struct InputSpec {
  std::optional<std::int64_t> ndim = std::nullopt;
  std::optional<std::int64_t> min_ndim = std::nullopt;
  std::map<std::int64_t, std::int64_t> axes = {};  // axis (negative counts from the end) -> size
};

struct WeightOptions {
  Initializer initializer = "glorot_uniform";
  Regularizer regularizer = {};
  Constraint constraint = {};
  bool trainable = true;
  // Whether a mixed_bfloat16 call reads the weight rounded to bfloat16 (Keras's add_weight(autocast=)).
  bool autocast = true;
};

class Layer : public std::enable_shared_from_this<Layer> {
 public:
  // `class_name` is the Keras class ("Dense"); an empty name gets an automatic one ("dense",
  // "dense_1", ...). A name containing '/' is a ValueError.
  Layer(std::string class_name, std::string name);
  virtual ~Layer() = default;
  Layer(const Layer&) = delete;
  Layer& operator=(const Layer&) = delete;

  const std::string& name() const { return name_; }
  const std::string& class_name() const { return class_name_; }
  bool built() const { return built_; }
  // The variables' dtype (Keras's layer.dtype): the policy's variable dtype.
  DType dtype() const { return policy_.variable_dtype(); }
  // The dtype policy: mixed_precision::global_policy() at construction, unless the layer is given one.
  const DTypePolicy& dtype_policy() const { return policy_; }
  // Sets a plain policy of `dtype`; only before build. Containers set it on every layer inside.
  virtual void set_dtype(DType dtype);
  // Only before build. A mixed_bfloat16 layer rounds its float inputs and outputs to bfloat16 (a layer
  // holding others leaves that to them) and reads its autocast variables rounded (autograd/autocast.h).
  void set_dtype_policy(const DTypePolicy& policy);

  bool trainable() const { return trainable_; }
  // Sets the flag of this layer and of every layer inside it (sublayers(), recursively), as Keras's
  // setter does: freezing a model or a user-written container freezes all it holds.
  virtual void set_trainable(bool trainable);

  // Builds on the first call, checks the input against the built layer, casts float inputs to the
  // layer's dtype, runs call() and records activity-regularization terms.
  Tensor operator()(const Tensor& x, const CallContext& ctx = {});
  Tensor operator()(const Tensor& x, bool training);
  // Layers that take a list (merge layers, models with several inputs); for any other layer the list
  // must hold one tensor.
  Tensor operator()(const std::vector<Tensor>& inputs, const CallContext& ctx = {});
  // A symbolic call (docs/functional.md): builds the layer from the inputs' shapes, runs it on their
  // samples to learn the output's shape and dtype, and records the call as a Node of the graph. A
  // ShapeError names the layer and the shapes it was called on; so does the ValueError of a layer whose
  // weights would need a size the inputs leave free (-1, Keras's None). A layer the failed call built is
  // left unbuilt. The layer must be held by a shared_ptr (its factory makes one).
  SymbolicTensor operator()(const SymbolicTensor& x, const CallOptions& options = {});
  SymbolicTensor operator()(const std::vector<SymbolicTensor>& inputs, const CallOptions& options = {});
  // True for layers whose call takes a list of tensors (merge layers, models with several inputs).
  virtual bool takes_input_list() const { return false; }
  // Builds from a full input shape (batch first) without calling. A build that throws leaves the layer
  // unbuilt, without the weights it had made.
  void build_from(const Shape& input_shape);

  // Weights in creation order (containers: their own, then each inner layer's).
  virtual std::vector<Variable> weights() const;
  // Empty when the layer is frozen; otherwise the trainable-at-creation weights.
  std::vector<Variable> trainable_weights() const;
  std::vector<Variable> non_trainable_weights() const;
  std::vector<Tensor> get_weights() const;
  // All counts and shapes are checked before anything is written (ShapeError naming the layer).
  void set_weights(const std::vector<Tensor>& values);
  std::int64_t count_params() const;

  // Regularization penalties of trainable weights plus the activity terms of the latest training call.
  virtual std::vector<Tensor> losses() const;

  virtual Shape compute_output_shape(const Shape& input_shape) const;
  // Every constructor argument, plus name, trainable and dtype.
  virtual nlohmann::json get_config() const;
  // {"class_name": ..., "config": get_config()}
  nlohmann::json serialize() const;

  // The per-sample input shape an Input layer declares (no batch axis); containers build from it.
  virtual std::optional<Shape> declared_input_shape() const { return std::nullopt; }
  // Inner layers of a container, in order.
  virtual std::vector<std::shared_ptr<Layer>> sublayers() const { return {}; }
  // The input shape the layer was built with (batch dimension included).
  const Shape& built_input_shape() const { return built_input_shape_; }

 protected:
  // Marks a call of this layer: an outermost training call (one not made from inside another layer's
  // call) first clears the activity penalties of this layer and every layer inside, and each call
  // inside adds its own, so a layer called twice in one step keeps both. operator() opens one; so does
  // any other entry point that calls inner layers (Functional::call_all).
  class CallScope {
   public:
    CallScope(Layer& layer, const CallContext& ctx);
    ~CallScope();
    CallScope(const CallScope&) = delete;
    CallScope& operator=(const CallScope&) = delete;
  };
  // This layer's flag alone: a container's from_config, whose inner layers restored their own flags.
  void set_own_trainable(bool trainable) { trainable_ = trainable; }
  // Create the weights for this input shape (batch first). Called once.
  virtual void build(const Shape& input_shape);
  virtual Tensor call(const Tensor& x, const CallContext& ctx) = 0;
  // The list forms, for layers whose takes_input_list() is true; the defaults refuse a list.
  virtual void build_list(const std::vector<Shape>& input_shapes);
  virtual Tensor call_list(const std::vector<Tensor>& inputs, const CallContext& ctx);

  Variable add_weight(const std::string& name, const Shape& shape, const WeightOptions& options = {});
  void set_input_spec(InputSpec spec) { input_spec_ = std::move(spec); }
  void set_activity_regularizer(Regularizer r) { activity_regularizer_ = std::move(r); }
  const Regularizer& activity_regularizer() const { return activity_regularizer_; }
  // Updates a state variable (moving statistics): staged in ctx.staged when present, else now.
  static void update_state(const CallContext& ctx, const Variable& variable, const Tensor& value);

 private:
  void check_input(const Tensor& x) const;
  // build_from for a layer that takes a list.
  void build_from_list(const std::vector<Shape>& input_shapes);
  // Runs `create` (build or build_list); if it throws, drops the weights it made and the input spec it set.
  void build_or_undo(const std::function<void()>& create, const Shape& recorded_input_shape);
  // Casts a float input to the layer's dtype, then rounds it under mixed_bfloat16 (ValueError for an
  // undefined one).
  Tensor cast_input(const Tensor& x) const;
  // A float output rounded to bfloat16 under mixed_bfloat16; otherwise y itself.
  Tensor round_output(const Tensor& y) const;
  // Whether this layer rounds its inputs and outputs: mixed_bfloat16 and no inner layers.
  bool rounds_to_bfloat16() const;
  // After a training call: the activity penalty of its output.
  void record_activity(const Tensor& y, const CallContext& ctx);
  void clear_activity_losses();

  std::string class_name_;
  std::string name_;
  bool trainable_ = true;
  bool built_ = false;
  DTypePolicy policy_;
  Shape built_input_shape_;
  InputSpec input_spec_;
  std::vector<Variable> weights_;
  Regularizer activity_regularizer_;
  std::vector<Tensor> activity_losses_;
};

using LayerPtr = std::shared_ptr<Layer>;

// What layer factories return: the shared_ptr to the layer, callable like the layer itself, so that
// `layers::Dense({.units = 10})(x)` reads as Keras's `layers.Dense(10)(x)`.
template <class T>
class Ref : public std::shared_ptr<T> {
 public:
  Ref(std::shared_ptr<T> layer) : std::shared_ptr<T>(std::move(layer)) {}
  Tensor operator()(const Tensor& x, const CallContext& ctx = {}) const { return (**this)(x, ctx); }
  Tensor operator()(const Tensor& x, bool training) const { return (**this)(x, training); }
  Tensor operator()(const std::vector<Tensor>& inputs, const CallContext& ctx = {}) const { return (**this)(inputs, ctx); }
  SymbolicTensor operator()(const SymbolicTensor& x, const CallOptions& options = {}) const { return (**this)(x, options); }
  SymbolicTensor operator()(const std::vector<SymbolicTensor>& inputs, const CallOptions& options = {}) const {
    return (**this)(inputs, options);
  }
};

// "BatchNormalization" -> "batch_normalization".
std::string snake_case(const std::string& class_name);
// A fresh automatic name for a class: its snake_case, then _1, _2, ... (process-wide, thread-safe).
std::string unique_name(const std::string& class_name);

}  // namespace keel::layers
