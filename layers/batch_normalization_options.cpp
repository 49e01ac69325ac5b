#include "keel/layers/batch_normalization_options.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>

#include "keel/core/error.h"

namespace keel::layers {
namespace {

void check_unit_interval(double value, const char* argument, const std::string& error_context) {
  if (!(value >= 0.0 && value <= 1.0))
    throw ValueError(fmt::format("{}: {} must be in [0, 1], got {}", error_context, argument, value));
}

void check_fused_combination(const BatchNormalizationOptions& o, const std::string& error_context) {
  if (o.fused != std::optional<bool>(true)) return;
  const char* failing = o.renorm                 ? "renorm=true"
                        : o.virtual_batch_size   ? "virtual_batch_size is set"
                        : o.adjustment           ? "adjustment is set"
                        : o.synchronized         ? "synchronized=true"
                        : o.axis.size() != 1     ? "axis is a list of several axes"
                                                 : nullptr;
  if (failing)
    throw ValueError(
        fmt::format("{}: fused=true cannot be used because {} (fused needs a single channel axis, no "
                    "renorm, virtual batch, adjustment or synchronization)",
                    error_context, failing));
}

nlohmann::json optional_json(const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(); }

RenormClipping read_clipping(config::ConfigReader& r) {
  const nlohmann::json& j = r.value("renorm_clipping");
  if (j.is_null()) return {};
  if (!j.is_object()) r.fail("renorm_clipping", "must be an object with rmax, rmin and dmax", j);
  config::ConfigReader clipping(j, r.what() + " renorm_clipping");
  RenormClipping c{.rmax = clipping.optional_number("rmax"),
                   .rmin = clipping.optional_number("rmin"),
                   .dmax = clipping.optional_number("dmax")};
  clipping.finish();
  return c;
}

std::optional<bool> optional_boolean(config::ConfigReader& r, const std::string& key) {
  if (r.value(key).is_null()) return std::nullopt;
  return r.boolean(key, false);
}

}  // namespace

void validate_batch_norm_options(const BatchNormalizationOptions& o, const std::string& error_context) {
  if (o.axis.empty()) throw ValueError(fmt::format("{}: axis must name at least one axis, got []", error_context));
  for (std::size_t i = 0; i < o.axis.size(); ++i)
    for (std::size_t j = i + 1; j < o.axis.size(); ++j)
      if (o.axis[i] == o.axis[j])
        throw ValueError(fmt::format("{}: axis {} is repeated in axis={}", error_context, o.axis[i], o.axis));
  check_unit_interval(o.momentum, "momentum", error_context);
  check_unit_interval(o.renorm_momentum, "renorm_momentum", error_context);
  if (!(o.epsilon >= 0.0)) throw ValueError(fmt::format("{}: epsilon must be >= 0, got {}", error_context, o.epsilon));
  const RenormClipping& c = o.renorm_clipping;
  for (const auto& [key, value] : {std::pair{"rmax", c.rmax}, std::pair{"rmin", c.rmin}, std::pair{"dmax", c.dmax}})
    if (value && std::isnan(*value)) throw ValueError(fmt::format("{}: renorm_clipping {} is NaN", error_context, key));
  if (c.rmax && c.rmin && *c.rmax < *c.rmin)
    throw ValueError(
        fmt::format("{}: renorm_clipping rmax ({}) is less than rmin ({})", error_context, *c.rmax, *c.rmin));
  if (c.dmax && *c.dmax < 0)
    throw ValueError(fmt::format("{}: renorm_clipping dmax must be >= 0, got {}", error_context, *c.dmax));
  if (o.virtual_batch_size) {
    if (*o.virtual_batch_size <= 0)
      throw ValueError(fmt::format("{}: virtual_batch_size must be > 0, got {}", error_context, *o.virtual_batch_size));
    if (std::find(o.axis.begin(), o.axis.end(), 0) != o.axis.end())
      throw ValueError(
          fmt::format("{}: virtual_batch_size cannot be used with axis 0 (axis={})", error_context, o.axis));
    if (o.adjustment)
      throw ValueError(fmt::format("{}: virtual_batch_size cannot be used with adjustment", error_context));
  }
  check_fused_combination(o, error_context);
}

std::vector<std::int64_t> resolve_batch_norm_axes(const BatchNormalizationOptions& o, const Shape& input_shape,
                                                  const std::string& error_context) {
  const auto rank = static_cast<std::int64_t>(input_shape.size());
  if (rank < 2)
    throw ShapeError(
        fmt::format("{}: expected an input of rank >= 2 (a batch axis and a normalized axis), got shape {}",
                    error_context, to_string(input_shape)));
  std::vector<std::int64_t> axes;
  for (std::int64_t a : o.axis) {
    if (a < -rank || a >= rank)
      throw ShapeError(fmt::format("{}: axis {} is out of range for an input of rank {} (shape {})", error_context, a,
                                   rank, to_string(input_shape)));
    std::int64_t n = a < 0 ? a + rank : a;
    if (std::find(axes.begin(), axes.end(), n) != axes.end())
      throw ValueError(
          fmt::format("{}: axis={} names axis {} twice for an input of rank {}", error_context, o.axis, n, rank));
    axes.push_back(n);
  }
  std::sort(axes.begin(), axes.end());
  if (static_cast<std::int64_t>(axes.size()) == rank)
    throw ShapeError(
        fmt::format("{}: axis={} leaves no axis to reduce over for an input of rank {}", error_context, o.axis, rank));
  if (o.virtual_batch_size && axes.front() == 0)
    throw ValueError(fmt::format("{}: virtual_batch_size cannot be used with axis 0 (axis={})", error_context, o.axis));
  if (o.fused == std::optional<bool>(true)) {
    if (rank != 4 && rank != 5)
      throw ValueError(fmt::format("{}: fused=true needs an input of rank 4 or 5, got shape {}", error_context,
                                   to_string(input_shape)));
    if (axes.front() != 1 && axes.front() != rank - 1)
      throw ValueError(fmt::format("{}: fused=true needs the channel axis to be 1 or {} for rank {}, got axis {}",
                                   error_context, rank - 1, rank, axes.front()));
  }
  return axes;
}

Shape batch_norm_param_shape(const Shape& input_shape, const std::vector<std::int64_t>& axes) {
  Shape s;
  for (std::int64_t a : axes) s.push_back(input_shape[static_cast<std::size_t>(a)]);
  return s;
}

void batch_norm_options_to_json(const BatchNormalizationOptions& o, nlohmann::json& c) {
  c["axis"] = o.axis.size() == 1 ? nlohmann::json(o.axis[0]) : nlohmann::json(o.axis);
  c["momentum"] = o.momentum;
  c["epsilon"] = o.epsilon;
  c["center"] = o.center;
  c["scale"] = o.scale;
  c["beta_initializer"] = o.beta_initializer.serialize();
  c["gamma_initializer"] = o.gamma_initializer.serialize();
  c["moving_mean_initializer"] = o.moving_mean_initializer.serialize();
  c["moving_variance_initializer"] = o.moving_variance_initializer.serialize();
  c["beta_regularizer"] = o.beta_regularizer.serialize();
  c["gamma_regularizer"] = o.gamma_regularizer.serialize();
  c["beta_constraint"] = o.beta_constraint.serialize();
  c["gamma_constraint"] = o.gamma_constraint.serialize();
  c["renorm"] = o.renorm;
  nlohmann::json clipping = nlohmann::json::object();
  if (o.renorm_clipping.rmax) clipping["rmax"] = optional_json(o.renorm_clipping.rmax);
  if (o.renorm_clipping.rmin) clipping["rmin"] = optional_json(o.renorm_clipping.rmin);
  if (o.renorm_clipping.dmax) clipping["dmax"] = optional_json(o.renorm_clipping.dmax);
  c["renorm_clipping"] = clipping;
  c["renorm_momentum"] = o.renorm_momentum;
  c["fused"] = o.fused ? nlohmann::json(*o.fused) : nlohmann::json();
  c["virtual_batch_size"] = o.virtual_batch_size ? nlohmann::json(*o.virtual_batch_size) : nlohmann::json();
  c["synchronized"] = o.synchronized;
}

BatchNormalizationOptions read_batch_norm_options(config::ConfigReader& r) {
  BatchNormalizationOptions o;
  if (const nlohmann::json& axis = r.value("axis"); axis.is_number_integer())
    o.axis = {config::integer_in(r, "axis", axis)};
  else
    o.axis = r.integers("axis", o.axis);
  o.momentum = r.number("momentum", o.momentum);
  o.epsilon = r.number("epsilon", o.epsilon);
  o.center = r.boolean("center", o.center);
  o.scale = r.boolean("scale", o.scale);
  for (auto [key, slot] :
       {std::pair{"beta_initializer", &o.beta_initializer}, std::pair{"gamma_initializer", &o.gamma_initializer},
        std::pair{"moving_mean_initializer", &o.moving_mean_initializer},
        std::pair{"moving_variance_initializer", &o.moving_variance_initializer}})
    if (r.contains(key)) *slot = initializers::deserialize(r.value(key));
  o.beta_regularizer = regularizers::deserialize(r.value("beta_regularizer"));
  o.gamma_regularizer = regularizers::deserialize(r.value("gamma_regularizer"));
  o.beta_constraint = constraints::deserialize(r.value("beta_constraint"));
  o.gamma_constraint = constraints::deserialize(r.value("gamma_constraint"));
  o.renorm = r.boolean("renorm", o.renorm);
  o.renorm_clipping = read_clipping(r);
  o.renorm_momentum = r.number("renorm_momentum", o.renorm_momentum);
  o.fused = optional_boolean(r, "fused");
  o.virtual_batch_size = r.optional_integer("virtual_batch_size");
  o.synchronized = r.boolean("synchronized", o.synchronized);
  return o;
}

}  // namespace keel::layers
