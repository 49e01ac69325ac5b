#pragma once
// Keras's weight constraints (docs/semantics.md §4): projections the optimizer applies after each update.
// Norms are taken over `axis` (a list, e.g. {0, 1, 2} for conv kernels), with e = 1e-7.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "keel/core/tensor.h"
#include "keel/layers/component.h"

namespace keel::constraints {

struct MaxNorm {
  double max_value = 2.0;
  std::vector<std::int64_t> axis = {0};
  static constexpr const char* class_name = "MaxNorm";
  Tensor operator()(const Tensor& w) const;  // w · clip(n, 0, max) / (e + n)
  nlohmann::json get_config() const { return {{"max_value", max_value}, {"axis", axis}}; }
};

struct MinMaxNorm {
  double min_value = 0.0, max_value = 1.0, rate = 1.0;
  std::vector<std::int64_t> axis = {0};
  static constexpr const char* class_name = "MinMaxNorm";
  Tensor operator()(const Tensor& w) const;  // w · (rate · clip(n, min, max) + (1 − rate) · n) / (e + n)
  nlohmann::json get_config() const {
    return {{"min_value", min_value}, {"max_value", max_value}, {"rate", rate}, {"axis", axis}};
  }
};

struct NonNeg {
  static constexpr const char* class_name = "NonNeg";
  Tensor operator()(const Tensor& w) const;  // max(w, 0)
  nlohmann::json get_config() const { return nlohmann::json::object(); }
};

struct UnitNorm {
  std::vector<std::int64_t> axis = {0};
  static constexpr const char* class_name = "UnitNorm";
  Tensor operator()(const Tensor& w) const;  // w / (e + n)
  nlohmann::json get_config() const { return {{"axis", axis}}; }
};

}  // namespace keel::constraints

namespace keel {

// Any constraint, or a Keras name ("max_norm", "min_max_norm", "non_neg", "unit_norm").
class Constraint : public layers::detail::Component<Tensor(const Tensor&)> {
 public:
  using Component::Component;
  Constraint(const char* keras_name);
  Constraint(const std::string& keras_name);
};

namespace constraints {
Constraint deserialize(const nlohmann::json& json);
}

}  // namespace keel
