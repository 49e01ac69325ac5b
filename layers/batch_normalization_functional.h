#pragma once
// The functional form of BatchNormalization (docs/semantics.md §1.12, tf.compat.v1.layers.batch_normalization)
// over an explicit state, for code outside the layer API:
//
//   auto state = keel::make_batch_norm_state(x.shape(), options);
//   Tensor y = keel::batch_normalization(x, state, options, /*training=*/true);
//
// Same numbers as the layer. In training it updates the state's moving statistics itself (in place);
// there is no separate update op to forget. options.trainable == false means inference mode.
#include "keel/core/tensor.h"
#include "keel/layers/batch_normalization_options.h"
#include "keel/layers/batch_normalization_step.h"

namespace keel {

using layers::BatchNormState;

// A fresh state for inputs of `input_shape` (batch first), initialized as the layer's build does;
// gamma and beta are leaves that require grad.
BatchNormState make_batch_norm_state(const Shape& input_shape, const layers::BatchNormalizationOptions& options,
                                     DType dtype = DType::float32);

// Options are validated as the layer's constructor does; `mask` as the layer's call argument.
Tensor batch_normalization(const Tensor& x, BatchNormState& state, const layers::BatchNormalizationOptions& options,
                           bool training, const Tensor& mask = {});

}  // namespace keel
