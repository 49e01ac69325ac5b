#include "keel/layers/batch_normalization_config.h"

#include <fmt/format.h>

#include <set>

#include "keel/core/error.h"

namespace keel::layers {
namespace {

nlohmann::json optional_json(const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(); }

RenormClipping clipping_from_json(const nlohmann::json& j) {
  RenormClipping c;
  if (j.is_null()) return c;
  if (!j.is_object())
    throw ValueError(fmt::format("BatchNormalization: renorm_clipping must be an object, got {}", j.dump()));
  for (const auto& [key, value] : j.items()) {
    std::optional<double>* slot = key == "rmax" ? &c.rmax : key == "rmin" ? &c.rmin : key == "dmax" ? &c.dmax : nullptr;
    if (!slot)
      throw ValueError(fmt::format("BatchNormalization: renorm_clipping has the unknown key '{}' (known: rmax, rmin, dmax)",
                                   key));
    if (!value.is_null()) *slot = value.get<double>();
  }
  return c;
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

BatchNormalizationOptions batch_norm_options_from_json(const nlohmann::json& c) {
  static const std::set<std::string> known = {
      "name", "dtype", "trainable", "axis", "momentum", "epsilon", "center", "scale", "beta_initializer",
      "gamma_initializer", "moving_mean_initializer", "moving_variance_initializer", "beta_regularizer",
      "gamma_regularizer", "beta_constraint", "gamma_constraint", "renorm", "renorm_clipping", "renorm_momentum",
      "fused", "virtual_batch_size", "synchronized"};
  if (!c.is_object()) throw ValueError(fmt::format("BatchNormalization: the config must be an object, got {}", c.dump()));
  for (const auto& [key, value] : c.items())
    if (!known.count(key)) throw ValueError(fmt::format("BatchNormalization: unrecognized config key '{}'", key));
  auto field = [&c](const char* key) { return c.contains(key) ? c[key] : nlohmann::json(); };
  BatchNormalizationOptions o;
  if (c.contains("axis"))
    o.axis = c["axis"].is_array() ? c["axis"].get<std::vector<std::int64_t>>()
                                  : std::vector<std::int64_t>{c["axis"].get<std::int64_t>()};
  o.momentum = c.value("momentum", o.momentum);
  o.epsilon = c.value("epsilon", o.epsilon);
  o.center = c.value("center", o.center);
  o.scale = c.value("scale", o.scale);
  for (auto [key, slot] : {std::pair{"beta_initializer", &o.beta_initializer},
                           std::pair{"gamma_initializer", &o.gamma_initializer},
                           std::pair{"moving_mean_initializer", &o.moving_mean_initializer},
                           std::pair{"moving_variance_initializer", &o.moving_variance_initializer}})
    if (c.contains(key)) *slot = initializers::deserialize(c[key]);
  o.beta_regularizer = regularizers::deserialize(field("beta_regularizer"));
  o.gamma_regularizer = regularizers::deserialize(field("gamma_regularizer"));
  o.beta_constraint = constraints::deserialize(field("beta_constraint"));
  o.gamma_constraint = constraints::deserialize(field("gamma_constraint"));
  o.renorm = c.value("renorm", o.renorm);
  o.renorm_clipping = clipping_from_json(field("renorm_clipping"));
  o.renorm_momentum = c.value("renorm_momentum", o.renorm_momentum);
  if (!field("fused").is_null()) o.fused = c["fused"].get<bool>();
  if (!field("virtual_batch_size").is_null()) o.virtual_batch_size = c["virtual_batch_size"].get<std::int64_t>();
  o.synchronized = c.value("synchronized", o.synchronized);
  o.trainable = c.value("trainable", o.trainable);
  return o;
}

}  // namespace keel::layers
