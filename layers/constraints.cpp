#include "keel/layers/constraints.h"

#include <fmt/format.h>

#include "keel/autograd/ops.h"
#include "keel/core/error.h"

namespace keel {
namespace constraints {
namespace {

constexpr double kEpsilon = 1e-7;

Tensor norms(const Tensor& w, const std::vector<std::int64_t>& axis) { return ops::sqrt(ops::sum(ops::square(w), axis, true)); }

std::vector<std::int64_t> axis_from(const nlohmann::json& c) {
  if (!c.contains("axis")) return {0};
  if (c["axis"].is_number_integer()) return {c["axis"].get<std::int64_t>()};
  return c["axis"].get<std::vector<std::int64_t>>();
}

}  // namespace

Tensor MaxNorm::operator()(const Tensor& w) const {
  Tensor n = norms(w, axis);
  return w * ops::clip(n, 0.0, max_value) / (n + kEpsilon);
}

Tensor MinMaxNorm::operator()(const Tensor& w) const {
  Tensor n = norms(w, axis);
  Tensor desired = ops::clip(n, min_value, max_value) * rate + n * (1.0 - rate);
  return w * desired / (n + kEpsilon);
}

Tensor NonNeg::operator()(const Tensor& w) const { return ops::maximum(w, ops::scalar_like(w, 0.0)); }

Tensor UnitNorm::operator()(const Tensor& w) const { return w / (norms(w, axis) + kEpsilon); }

Constraint deserialize(const nlohmann::json& json) {
  if (json.is_null()) return Constraint();
  std::string name = json.is_string() ? json.get<std::string>() : json.value("class_name", std::string());
  nlohmann::json c = json.is_object() && json.contains("config") ? json["config"] : nlohmann::json::object();
  if (name == "MaxNorm" || name == "max_norm") return MaxNorm{c.value("max_value", 2.0), axis_from(c)};
  if (name == "MinMaxNorm" || name == "min_max_norm")
    return MinMaxNorm{c.value("min_value", 0.0), c.value("max_value", 1.0), c.value("rate", 1.0), axis_from(c)};
  if (name == "NonNeg" || name == "non_neg") return NonNeg{};
  if (name == "UnitNorm" || name == "unit_norm") return UnitNorm{axis_from(c)};
  throw ValueError(fmt::format("constraints: unknown constraint '{}' (known: MaxNorm, MinMaxNorm, NonNeg, UnitNorm)", name));
}

}  // namespace constraints

Constraint::Constraint(const char* keras_name) : Constraint(std::string(keras_name)) {}
Constraint::Constraint(const std::string& keras_name) : Constraint(constraints::deserialize(nlohmann::json(keras_name))) {}

}  // namespace keel
