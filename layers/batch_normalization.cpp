#include "keel/layers/batch_normalization.h"

#include <fmt/format.h>

#include "keel/core/log.h"
#include "keel/layers/detail/batch_norm_step.h"
#include "keel/layers/detail/batch_norm_weights.h"
#include "keel/layers/layer_options.h"

namespace keel::layers {

BatchNormalizationLayer::BatchNormalizationLayer(Options options, std::string name)
    : Layer("BatchNormalization", std::move(name)), options_(std::move(options)) {
  validate_batch_norm_options(options_, error_context());
  set_trainable(options_.trainable);
}

BatchNormalizationLayer::Options BatchNormalizationLayer::options() const {
  Options current = options_;
  current.trainable = trainable();
  return current;
}

std::string BatchNormalizationLayer::error_context() const { return fmt::format("{} '{}'", class_name(), name()); }

void BatchNormalizationLayer::build(const Shape& input_shape) {
  axes_ = resolve_batch_norm_axes(options_, input_shape, error_context());
  const Shape shape = batch_norm_param_shape(input_shape, axes_);
  detail::create_batch_norm_weights(options_, weights_, [&](const char* name, WeightOptions weight) {
    weight.autocast = false;  // as Keras: under mixed_bfloat16 the normalization runs in float32
    return add_weight(name, shape, weight);
  });
  InputSpec spec{.ndim = static_cast<std::int64_t>(input_shape.size())};
  for (std::int64_t a : axes_) spec.axes[a] = input_shape[static_cast<std::size_t>(a)];
  set_input_spec(spec);
}

Tensor BatchNormalizationLayer::call(const Tensor& x, const CallContext& ctx) {
  auto value = [](const Variable& v) { return v.defined() ? v.value() : Tensor(); };
  const BatchNormWeights<Tensor> state{value(weights_.gamma),         value(weights_.beta),
                                       value(weights_.moving_mean),   value(weights_.moving_variance),
                                       value(weights_.moving_stddev), value(weights_.renorm_mean),
                                       value(weights_.renorm_stddev)};
  // A frozen BatchNormalization runs in inference mode whatever the call asks (§1.5).
  const bool training = ctx.training && trainable();
  detail::BatchNormResult result =
      detail::batch_norm_step(x, ctx.mask, state, options_, axes_, training, error_context(), warned_one_value_);
  detail::write_moving_statistics(weights_, result.updated, [&](const Variable& variable, const Tensor& new_value) {
    update_state(ctx, variable, new_value);
  });
  return result.output;
}

nlohmann::json BatchNormalizationLayer::get_config() const {
  nlohmann::json c = Layer::get_config();
  batch_norm_options_to_json(options_, c);
  if (options_.adjustment)
    log::warn(fmt::format("{}: get_config() leaves out `adjustment`, which cannot be serialized", error_context()));
  return c;
}

std::shared_ptr<BatchNormalizationLayer> BatchNormalizationLayer::from_config(const nlohmann::json& config) {
  return make_from_config<BatchNormalizationLayer>("BatchNormalization", config, read_batch_norm_options);
}

Ref<BatchNormalizationLayer> BatchNormalization(BatchNormalizationLayer::Options options, std::string name) {
  return std::make_shared<BatchNormalizationLayer>(std::move(options), std::move(name));
}

}  // namespace keel::layers
