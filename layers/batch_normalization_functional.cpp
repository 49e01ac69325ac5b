#include "keel/layers/batch_normalization_functional.h"

#include <fmt/format.h>

#include "keel/autograd/engine.h"
#include "keel/autograd/grad_mode.h"
#include "keel/autograd/ops.h"
#include "keel/core/log.h"

namespace keel {
namespace {
constexpr const char* kWho = "batch_normalization";
}

BatchNormState make_batch_norm_state(const Shape& input_shape, const layers::BatchNormalizationOptions& o, DType dtype) {
  layers::validate_batch_norm_options(o, kWho);
  const Shape shape = layers::batch_norm_param_shape(input_shape, layers::resolve_batch_norm_axes(o, input_shape, kWho));
  NoGrad no_grad;
  BatchNormState s;
  if (o.scale) s.gamma = set_requires_grad(o.gamma_initializer(shape, dtype).to(dtype).clone());
  if (o.center) s.beta = set_requires_grad(o.beta_initializer(shape, dtype).to(dtype).clone());
  s.moving_mean = o.moving_mean_initializer(shape, dtype).to(dtype).clone();
  s.moving_variance = o.moving_variance_initializer(shape, dtype).to(dtype).clone();
  if (o.renorm) {
    s.moving_stddev = ops::sqrt(o.moving_variance_initializer(shape, dtype).to(dtype));
    s.renorm_mean = o.moving_mean_initializer(shape, dtype).to(dtype).clone();
    s.renorm_stddev = ops::sqrt(o.moving_variance_initializer(shape, dtype).to(dtype));
  }
  return s;
}

Tensor batch_normalization(const Tensor& x, BatchNormState& state, const layers::BatchNormalizationOptions& o,
                           bool training, const Tensor& mask) {
  layers::validate_batch_norm_options(o, kWho);
  const std::vector<std::int64_t> axes = layers::resolve_batch_norm_axes(o, x.shape(), kWho);
  layers::BatchNormStep step = layers::batch_norm_step(x, mask, state, o, axes, training && o.trainable, kWho);
  if (step.one_value_per_channel && !state.warned_one_value_per_channel) {
    state.warned_one_value_per_channel = true;
    log::warn("batch_normalization: one value per channel in training mode; its output is beta");
  }
  NoGrad no_grad;
  const std::pair<Tensor*, const Tensor*> updates[] = {
      {&state.moving_mean, &step.updated.moving_mean},     {&state.moving_variance, &step.updated.moving_variance},
      {&state.moving_stddev, &step.updated.moving_stddev}, {&state.renorm_mean, &step.updated.renorm_mean},
      {&state.renorm_stddev, &step.updated.renorm_stddev}};
  for (const auto& [target, value] : updates)
    if (value->defined()) target->copy_from(*value);
  return step.output;
}

}  // namespace keel
