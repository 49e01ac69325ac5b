#include "keel/layers/batch_normalization_config.h"

#include <fmt/format.h>


#include "keel/core/error.h"

namespace keel::layers {
namespace {

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
  for (auto [key, slot] : {std::pair{"beta_initializer", &o.beta_initializer},
                           std::pair{"gamma_initializer", &o.gamma_initializer},
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
