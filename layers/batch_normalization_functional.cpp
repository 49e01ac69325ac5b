#include "keel/layers/batch_normalization_functional.h"

#include "keel/autograd/engine.h"
#include "keel/autograd/grad_mode.h"
#include "keel/layers/detail/batch_norm_step.h"
#include "keel/layers/detail/batch_norm_weights.h"

namespace keel {
namespace {
constexpr const char* kErrorContext = "batch_normalization";
}

BatchNormState make_batch_norm_state(const Shape& input_shape, const layers::BatchNormalizationOptions& o, DType dtype) {
  layers::validate_batch_norm_options(o, kErrorContext);
  const Shape shape =
      layers::batch_norm_param_shape(input_shape, layers::resolve_batch_norm_axes(o, input_shape, kErrorContext));
  NoGrad no_grad;
  BatchNormState state;
  layers::detail::create_batch_norm_weights(o, state, [&](const char*, const layers::WeightOptions& weight) {
    Tensor value = weight.initializer(shape, dtype).to(dtype).clone();
    return weight.trainable ? set_requires_grad(value) : value;
  });
  return state;
}

Tensor batch_normalization(const Tensor& x, BatchNormState& state, const layers::BatchNormalizationOptions& o,
                           bool training, const Tensor& mask) {
  layers::validate_batch_norm_options(o, kErrorContext);
  const std::vector<std::int64_t> axes = layers::resolve_batch_norm_axes(o, x.shape(), kErrorContext);
  layers::detail::BatchNormResult result = layers::detail::batch_norm_step(
      x, mask, state, o, axes, training && o.trainable, kErrorContext, state.warned_one_value_per_channel);
  NoGrad no_grad;
  layers::detail::write_moving_statistics(state, result.updated,
                                          [](Tensor& target, const Tensor& value) { target.copy_from(value); });
  return result.output;
}

}  // namespace keel
