#pragma once
// Keras's weight regularizers (docs/semantics.md §4): each maps a weight to a scalar penalty through
// differentiable ops, so the penalty's gradient flows into training.
#include <string>

#include <nlohmann/json.hpp>

#include "keel/core/tensor.h"
#include "keel/layers/component.h"

namespace keel::regularizers {

struct L1 {
  double l1 = 0.01;
  static constexpr const char* class_name = "L1";
  Tensor operator()(const Tensor& w) const;  // l1 · Σ|w|
  nlohmann::json get_config() const { return {{"l1", l1}}; }
};

struct L2 {
  double l2 = 0.01;
  static constexpr const char* class_name = "L2";
  Tensor operator()(const Tensor& w) const;  // l2 · Σw² (no ½)
  nlohmann::json get_config() const { return {{"l2", l2}}; }
};

struct L1L2 {
  double l1 = 0.0, l2 = 0.0;
  static constexpr const char* class_name = "L1L2";
  Tensor operator()(const Tensor& w) const;
  nlohmann::json get_config() const { return {{"l1", l1}, {"l2", l2}}; }
};

// factor · mean over unordered pairs of |cosine similarity| between rows (or columns) of a rank-2 weight.
struct OrthogonalRegularizer {
  double factor = 0.01;
  std::string mode = "rows";  // rows | columns
  static constexpr const char* class_name = "OrthogonalRegularizer";
  Tensor operator()(const Tensor& w) const;
  nlohmann::json get_config() const { return {{"factor", factor}, {"mode", mode}}; }
};

}  // namespace keel::regularizers

namespace keel {

// Any regularizer, or a Keras name ("l1", "l2", "l1_l2", "orthogonal_regularizer").
class Regularizer : public layers::detail::Component<Tensor(const Tensor&)> {
 public:
  using Component::Component;
  Regularizer(const char* keras_name);
  Regularizer(const std::string& keras_name);
};

namespace regularizers {
Regularizer deserialize(const nlohmann::json& json);
}

}  // namespace keel
