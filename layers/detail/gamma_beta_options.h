#pragma once
// The gamma/beta arguments LayerNormalization and GroupNormalization share (the same member names in
// both Options): their JSON form and reading it back.
#include <nlohmann/json.hpp>

#include "keel/core/config_reader.h"
#include "keel/layers/constraints.h"
#include "keel/layers/initializers.h"
#include "keel/layers/regularizers.h"

namespace keel::layers::detail {

template <class Options>
void gamma_beta_to_json(const Options& o, nlohmann::json& c) {
  c["beta_initializer"] = o.beta_initializer.serialize();
  c["gamma_initializer"] = o.gamma_initializer.serialize();
  c["beta_regularizer"] = o.beta_regularizer.serialize();
  c["gamma_regularizer"] = o.gamma_regularizer.serialize();
  c["beta_constraint"] = o.beta_constraint.serialize();
  c["gamma_constraint"] = o.gamma_constraint.serialize();
}

template <class Options>
void read_gamma_beta(config::ConfigReader& r, Options& o) {
  if (r.contains("beta_initializer")) o.beta_initializer = initializers::deserialize(r.value("beta_initializer"));
  if (r.contains("gamma_initializer")) o.gamma_initializer = initializers::deserialize(r.value("gamma_initializer"));
  o.beta_regularizer = regularizers::deserialize(r.value("beta_regularizer"));
  o.gamma_regularizer = regularizers::deserialize(r.value("gamma_regularizer"));
  o.beta_constraint = constraints::deserialize(r.value("beta_constraint"));
  o.gamma_constraint = constraints::deserialize(r.value("gamma_constraint"));
}

}  // namespace keel::layers::detail
