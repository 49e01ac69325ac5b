#include "keel/layers/layer_normalization.h"

#include <fmt/format.h>

#include "keel/autograd/ops.h"
#include "keel/layers/detail/argument_checks.h"
#include "keel/layers/detail/axis_list.h"
#include "keel/layers/detail/gamma_beta_options.h"
#include "keel/layers/detail/fused_normalization.h"

namespace keel::layers {
namespace {

Tensor value_or_empty(const Variable& v) { return v.defined() ? v.value() : Tensor(); }

}  // namespace

LayerNormalizationLayer::LayerNormalizationLayer(Options options, std::string name)
    : Layer("LayerNormalization", std::move(name)), options_(std::move(options)) {
  detail::require_non_negative(*this, "epsilon", options_.epsilon);
  if (options_.axis.empty())
    throw ValueError(fmt::format("LayerNormalization '{}': axis must name at least one axis, got []", this->name()));
}

void LayerNormalizationLayer::build(const Shape& input_shape) {
  axes_ = detail::resolve_axes(*this, options_.axis, input_shape);
  const auto rank = static_cast<std::int64_t>(input_shape.size());
  Shape param_shape;
  InputSpec spec{.ndim = rank};
  for (std::int64_t a : options_.axis) param_shape.push_back(input_shape[static_cast<std::size_t>(a < 0 ? a + rank : a)]);
  for (std::int64_t a : axes_) spec.axes[a] = input_shape[static_cast<std::size_t>(a)];
  const Options& o = options_;
  // Not autocast, as in Keras: under mixed_bfloat16 the normalization runs in float32.
  if (o.scale || o.rms_scaling)
    gamma_ = add_weight("gamma", param_shape,
                        {.initializer = o.gamma_initializer, .regularizer = o.gamma_regularizer,
                         .constraint = o.gamma_constraint, .autocast = false});
  if (o.center && !o.rms_scaling)
    beta_ = add_weight("beta", param_shape,
                       {.initializer = o.beta_initializer, .regularizer = o.beta_regularizer,
                        .constraint = o.beta_constraint, .autocast = false});
  set_input_spec(std::move(spec));
}

Tensor LayerNormalizationLayer::call(const Tensor& x, const CallContext&) {
  if (!options_.rms_scaling && axes_.size() == 1 && axes_[0] == x.dim() - 1)
    return detail::layer_norm_last_axis(x, value_or_empty(gamma_), value_or_empty(beta_), options_.epsilon);
  return composed(x);
}

// Any axis set, and rms_scaling: float64 ops (two-pass moments), cast back to the layer's dtype.
Tensor LayerNormalizationLayer::composed(const Tensor& x) const {
  const DType f64 = DType::float64;
  Shape broadcast(static_cast<std::size_t>(x.dim()), 1);
  for (std::int64_t a : axes_) broadcast[static_cast<std::size_t>(a)] = x.shape()[static_cast<std::size_t>(a)];
  auto param = [&](const Variable& v) { return ops::reshape(ops::cast(v.value(), f64), broadcast); };
  const Tensor x64 = ops::cast(x, f64);
  const Tensor centered = x64 - ops::mean(x64, axes_, true);
  const Tensor inv = 1.0 / ops::sqrt(ops::mean(ops::square(centered), axes_, true) + options_.epsilon);
  Tensor y = (options_.rms_scaling ? x64 : centered) * inv;
  if (gamma_.defined()) y = y * param(gamma_);
  if (beta_.defined()) y = y + param(beta_);
  return ops::cast(y, x.dtype());
}

nlohmann::json LayerNormalizationLayer::get_config() const {
  nlohmann::json c = Layer::get_config();
  const Options& o = options_;
  c["axis"] = detail::axis_list_to_json(o.axis);
  c["epsilon"] = o.epsilon;
  c["center"] = o.center;
  c["scale"] = o.scale;
  c["rms_scaling"] = o.rms_scaling;
  detail::gamma_beta_to_json(o, c);
  return c;
}

std::shared_ptr<LayerNormalizationLayer> LayerNormalizationLayer::from_config(const nlohmann::json& c) {
  return make_from_config<LayerNormalizationLayer>("LayerNormalization", c, [](config::ConfigReader& r) -> Options {
    Options o;
    o.axis = detail::read_axis_list(r, "axis", o.axis);
    o.epsilon = r.number("epsilon", o.epsilon);
    o.center = r.boolean("center", o.center);
    o.scale = r.boolean("scale", o.scale);
    o.rms_scaling = r.boolean("rms_scaling", o.rms_scaling);
    detail::read_gamma_beta(r, o);
    return o;
  });
}

Ref<LayerNormalizationLayer> LayerNormalization(LayerNormalizationLayer::Options options,
                                                            std::string name) {
  return std::make_shared<LayerNormalizationLayer>(std::move(options), std::move(name));
}

}  // namespace keel::layers
