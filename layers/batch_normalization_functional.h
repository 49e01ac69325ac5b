#pragma once
// The functional form of BatchNormalization (docs/semantics.md §1.12, tf.compat.v1.layers.batch_normalization)
// over an explicit state, for code outside the layer API:
//
//   auto state = keel::make_batch_norm_state(x.shape(), options);
//   Tensor y = keel::batch_normalization(x, state, options, /*training=*/true);
//
// Same numbers as the layer, which calls the same code. In training it updates the state's moving
// statistics itself (in place); there is no separate update op to forget. options.trainable == false
// means inference mode.
#include "keel/core/tensor.h"
#include "keel/layers/batch_normalization_options.h"

namespace keel::layers {

// BatchNormalization's weights in Keras's order, each of the weight shape (batch_norm_param_shape). One
// left undefined was not created: gamma without scale, beta without center, the last three without renorm.
// The layer holds them as Variables, the functional form as Tensors.
template <class T>
struct BatchNormWeights {
  T gamma = {};
  T beta = {};
  T moving_mean = {};
  T moving_variance = {};
  T moving_stddev = {};
  T renorm_mean = {};
  T renorm_stddev = {};
};

struct BatchNormState : BatchNormWeights<Tensor> {
  // Set once the functional form has warned about one value per channel.
  bool warned_one_value_per_channel = false;
};

}  // namespace keel::layers

namespace keel {

using layers::BatchNormState;

// A fresh state for inputs of `input_shape` (batch first), initialized as the layer's build does;
// gamma and beta are leaves that require grad.
BatchNormState make_batch_norm_state(const Shape& input_shape, const layers::BatchNormalizationOptions& options,
                                     DType dtype = DType::float32);

// Options are validated as the layer's constructor does; `mask` as the layer's call argument. The state
// must hold x's dtype and the weight shape (ValueError / ShapeError otherwise).
Tensor batch_normalization(const Tensor& x, BatchNormState& state, const layers::BatchNormalizationOptions& options,
                           bool training, const Tensor& mask = {});

}  // namespace keel
