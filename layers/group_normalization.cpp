#include "keel/layers/group_normalization.h"

#include <fmt/format.h>

#include "keel/layers/detail/argument_checks.h"
#include "keel/layers/detail/axis_list.h"
#include "keel/layers/detail/fused_normalization.h"
#include "keel/layers/detail/gamma_beta_options.h"

namespace keel::layers {

GroupNormalizationLayer::GroupNormalizationLayer(Options options, std::string name)
    : Layer("GroupNormalization", std::move(name)), options_(std::move(options)) {
  require_positive(*this, "groups", options_.groups);
  detail::require_non_negative(*this, "epsilon", options_.epsilon);
}

void GroupNormalizationLayer::build(const Shape& input_shape) {
  const auto rank = static_cast<std::int64_t>(input_shape.size());
  if (rank < 2)
    throw ShapeError(fmt::format("GroupNormalization '{}': expected an input of rank >= 2 (a batch axis first), got shape {}",
                                 name(), to_string(input_shape)));
  axis_ = detail::resolve_axes(*this, {options_.axis}, input_shape)[0];
  if (axis_ == 0)
    throw ValueError(fmt::format("GroupNormalization '{}': axis {} is the batch axis of an input of shape {}", name(),
                                 options_.axis, to_string(input_shape)));
  const std::int64_t channels = input_shape[static_cast<std::size_t>(axis_)];
  if (channels < options_.groups || channels % options_.groups != 0)
    throw ValueError(fmt::format("GroupNormalization '{}': groups={} must divide the {} channels on axis {} (input shape {})",
                                 name(), options_.groups, channels, options_.axis, to_string(input_shape)));
  const Options& o = options_;
  if (o.scale)
    gamma_ = add_weight("gamma", {channels},
                        {.initializer = o.gamma_initializer, .regularizer = o.gamma_regularizer,
                         .constraint = o.gamma_constraint});
  if (o.center)
    beta_ = add_weight("beta", {channels},
                       {.initializer = o.beta_initializer, .regularizer = o.beta_regularizer,
                        .constraint = o.beta_constraint});
  set_input_spec({.ndim = rank, .axes = {{axis_, channels}}});
}

Tensor GroupNormalizationLayer::call(const Tensor& x, const CallContext&) {
  kernels::GroupNormLayout l{.samples = x.shape()[0], .channels = x.shape()[static_cast<std::size_t>(axis_)],
                             .groups = options_.groups};
  for (std::int64_t i = 1; i < x.dim(); ++i) {
    if (i < axis_) l.before *= x.shape()[static_cast<std::size_t>(i)];
    if (i > axis_) l.after *= x.shape()[static_cast<std::size_t>(i)];
  }
  return detail::group_norm(x, l, gamma_.defined() ? gamma_.value() : Tensor(), beta_.defined() ? beta_.value() : Tensor(),
                            options_.epsilon);
}

nlohmann::json GroupNormalizationLayer::get_config() const {
  nlohmann::json c = Layer::get_config();
  const Options& o = options_;
  c["groups"] = o.groups;
  c["axis"] = o.axis;
  c["epsilon"] = o.epsilon;
  c["center"] = o.center;
  c["scale"] = o.scale;
  detail::gamma_beta_to_json(o, c);
  return c;
}

std::shared_ptr<GroupNormalizationLayer> GroupNormalizationLayer::from_config(const nlohmann::json& c) {
  return make_from_config<GroupNormalizationLayer>("GroupNormalization", c, [](config::ConfigReader& r) -> Options {
    Options o;
    o.groups = r.integer("groups", o.groups);
    o.axis = r.integer("axis", o.axis);
    o.epsilon = r.number("epsilon", o.epsilon);
    o.center = r.boolean("center", o.center);
    o.scale = r.boolean("scale", o.scale);
    detail::read_gamma_beta(r, o);
    return o;
  });
}

Ref<GroupNormalizationLayer> GroupNormalization(GroupNormalizationLayer::Options options,
                                                            std::string name) {
  return std::make_shared<GroupNormalizationLayer>(std::move(options), std::move(name));
}

}  // namespace keel::layers
