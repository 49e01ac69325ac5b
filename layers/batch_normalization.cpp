#include "keel/layers/batch_normalization.h"

#include <fmt/format.h>

#include <cmath>

#include "keel/autograd/ops.h"
#include "keel/core/log.h"
#include "keel/layers/batch_normalization_config.h"
#include "keel/layers/layer_options.h"
#include "keel/layers/batch_normalization_step.h"

namespace keel::layers {
namespace {

// sqrt of another initializer's values: the starting moving_stddev / renorm_stddev (§1.2).
struct SqrtOfInitializer {
  Initializer inner;
  static constexpr const char* class_name = "SqrtOf";
  Tensor operator()(const Shape& shape, DType dtype) const { return ops::sqrt(inner(shape, dtype)); }
  nlohmann::json get_config() const { return {{"initializer", inner.serialize()}}; }
};

}  // namespace

BatchNormalizationLayer::BatchNormalizationLayer(Options options, std::string name)
    : Layer("BatchNormalization", std::move(name)), options_(std::move(options)) {
  validate_batch_norm_options(options_, who());
  set_trainable(options_.trainable);
}

BatchNormalizationLayer::Options BatchNormalizationLayer::options() const {
  Options current = options_;
  current.trainable = trainable();
  return current;
}

std::string BatchNormalizationLayer::who() const { return fmt::format("{} '{}'", class_name(), name()); }

void BatchNormalizationLayer::build(const Shape& input_shape) {
  axes_ = resolve_batch_norm_axes(options_, input_shape, who());
  const Shape shape = batch_norm_param_shape(input_shape, axes_);
  const Options& o = options_;
  if (o.scale)
    gamma_ = add_weight("gamma", shape,
                        {.initializer = o.gamma_initializer, .regularizer = o.gamma_regularizer,
                         .constraint = o.gamma_constraint});
  if (o.center)
    beta_ = add_weight("beta", shape,
                       {.initializer = o.beta_initializer, .regularizer = o.beta_regularizer,
                        .constraint = o.beta_constraint});
  moving_mean_ = add_weight("moving_mean", shape, {.initializer = o.moving_mean_initializer, .trainable = false});
  moving_variance_ =
      add_weight("moving_variance", shape, {.initializer = o.moving_variance_initializer, .trainable = false});
  if (o.renorm) {
    const Initializer stddev = SqrtOfInitializer{o.moving_variance_initializer};
    moving_stddev_ = add_weight("moving_stddev", shape, {.initializer = stddev, .trainable = false});
    renorm_mean_ = add_weight("renorm_mean", shape, {.initializer = o.moving_mean_initializer, .trainable = false});
    renorm_stddev_ = add_weight("renorm_stddev", shape, {.initializer = stddev, .trainable = false});
  }
  InputSpec spec{.ndim = static_cast<std::int64_t>(input_shape.size())};
  for (std::int64_t a : axes_) spec.axes[a] = input_shape[static_cast<std::size_t>(a)];
  set_input_spec(spec);
}

Tensor BatchNormalizationLayer::call(const Tensor& x, const CallContext& ctx) {
  auto value = [](const Variable& v) { return v.defined() ? v.value() : Tensor(); };
  const BatchNormState state{value(gamma_),         value(beta_),        value(moving_mean_), value(moving_variance_),
                             value(moving_stddev_), value(renorm_mean_), value(renorm_stddev_)};
  // A frozen BatchNormalization runs in inference mode whatever the call asks (§1.5).
  const bool training = ctx.training && trainable();
  BatchNormStep step = batch_norm_step(x, ctx.mask, state, options_, axes_, training, who());
  if (step.one_value_per_channel && !warned_one_value_) {
    warned_one_value_ = true;
    log::warn(fmt::format("BatchNormalization '{}': one value per channel in training mode; its output is beta", name()));
  }
  const std::pair<const Variable*, const Tensor*> updates[] = {
      {&moving_mean_, &step.updated.moving_mean},     {&moving_variance_, &step.updated.moving_variance},
      {&moving_stddev_, &step.updated.moving_stddev}, {&renorm_mean_, &step.updated.renorm_mean},
      {&renorm_stddev_, &step.updated.renorm_stddev}};
  for (const auto& [variable, new_value] : updates)
    if (new_value->defined()) update_state(ctx, *variable, *new_value);
  return step.output;
}

nlohmann::json BatchNormalizationLayer::get_config() const {
  nlohmann::json c = Layer::get_config();
  batch_norm_options_to_json(options_, c);
  if (options_.adjustment)
    log::warn(fmt::format("{}: get_config() leaves out `adjustment`, which cannot be serialized", who()));
  return c;
}

std::shared_ptr<BatchNormalizationLayer> BatchNormalizationLayer::from_config(const nlohmann::json& config) {
  return make_from_config<BatchNormalizationLayer>("BatchNormalization", config, read_batch_norm_options);
}

std::shared_ptr<BatchNormalizationLayer> BatchNormalization(BatchNormalizationLayer::Options options, std::string name) {
  return std::make_shared<BatchNormalizationLayer>(std::move(options), std::move(name));
}

}  // namespace keel::layers
