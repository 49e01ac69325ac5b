#include "keel/layers/regularizers.h"

#include <fmt/format.h>

#include "keel/autograd/ops.h"
#include "keel/core/error.h"

namespace keel {
namespace regularizers {

Tensor L1::operator()(const Tensor& w) const { return ops::sum(ops::abs(w)) * l1; }
Tensor L2::operator()(const Tensor& w) const { return ops::sum(ops::square(w)) * l2; }
Tensor L1L2::operator()(const Tensor& w) const {
  return ops::sum(ops::abs(w)) * l1 + ops::sum(ops::square(w)) * l2;
}

Tensor OrthogonalRegularizer::operator()(const Tensor& w) const {
  if (w.dim() != 2)
    throw ValueError(fmt::format("OrthogonalRegularizer: needs a rank-2 weight, got shape {}", to_string(w.shape())));
  if (mode != "rows" && mode != "columns")
    throw ValueError(fmt::format("OrthogonalRegularizer: mode must be 'rows' or 'columns', got '{}'", mode));
  Tensor m = mode == "rows" ? w : ops::transpose(w, 0, 1);
  const std::int64_t n = m.shape()[0];
  if (n < 2) return ops::sum(m) * 0.0;
  Tensor unit = m / ops::sqrt(ops::sum(ops::square(m), {1}, true) + 1e-12);
  Tensor cos = ops::abs(ops::matmul(unit, ops::transpose(unit, 0, 1)));
  // Off-diagonal sum counts each unordered pair twice; the diagonal holds n ones (up to rounding).
  Tensor off_diagonal = ops::sum(cos) - ops::sum(ops::abs(ops::sum(ops::square(unit), {1})));
  return off_diagonal * (factor / static_cast<double>(n * (n - 1)));
}

namespace {
std::string lower_name(const nlohmann::json& json) {
  return json.is_string() ? json.get<std::string>() : json.value("class_name", std::string());
}
}  // namespace

Regularizer deserialize(const nlohmann::json& json) {
  if (json.is_null()) return Regularizer();
  std::string name = lower_name(json);
  nlohmann::json c = json.is_object() && json.contains("config") ? json["config"] : nlohmann::json::object();
  if (name == "L1" || name == "l1") return L1{c.value("l1", 0.01)};
  if (name == "L2" || name == "l2") return L2{c.value("l2", 0.01)};
  if (name == "L1L2" || name == "l1_l2") return L1L2{c.value("l1", json.is_string() ? 0.01 : 0.0), c.value("l2", json.is_string() ? 0.01 : 0.0)};
  if (name == "OrthogonalRegularizer" || name == "orthogonal_regularizer")
    return OrthogonalRegularizer{c.value("factor", 0.01), c.value("mode", std::string("rows"))};
  throw ValueError(fmt::format("regularizers: unknown regularizer '{}' (known: L1, L2, L1L2, OrthogonalRegularizer)", name));
}

}  // namespace regularizers

Regularizer::Regularizer(const char* keras_name) : Regularizer(std::string(keras_name)) {}
Regularizer::Regularizer(const std::string& keras_name)
    : Regularizer(regularizers::deserialize(nlohmann::json(keras_name))) {}

}  // namespace keel
