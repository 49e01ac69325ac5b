// Regression losses: each the mean over the last axis of an elementwise error.
#include <fmt/format.h>

#include <cmath>

#include "keel/autograd/ops.h"
#include "keel/core/error.h"
#include "keel/models/detail/targets.h"
#include "keel/models/losses.h"

namespace keel::losses {
namespace {

// (y_true, y_pred) in y_pred's dtype with equal shapes, and their difference y_pred − y_true.
Tensor error(const Tensor& y_true, const Tensor& y_pred, const char* op) {
  auto [target, output] = models::detail::aligned_targets(y_true, y_pred, op);
  return output - target;
}

std::string or_default(std::string name, const char* fallback) { return name.empty() ? fallback : name; }

}  // namespace

MeanSquaredError::MeanSquaredError(RegressionLossOptions options)
    : Loss(or_default(std::move(options.name), "mean_squared_error"), options.reduction) {}

Tensor MeanSquaredError::call(const Tensor& y_true, const Tensor& y_pred) const {
  return ops::mean(ops::square(error(y_true, y_pred, class_name())), {-1});
}

MeanAbsoluteError::MeanAbsoluteError(RegressionLossOptions options)
    : Loss(or_default(std::move(options.name), "mean_absolute_error"), options.reduction) {}

Tensor MeanAbsoluteError::call(const Tensor& y_true, const Tensor& y_pred) const {
  return ops::mean(ops::abs(error(y_true, y_pred, class_name())), {-1});
}

Huber::Huber(HuberOptions options) : Loss(std::move(options.name), options.reduction), delta_(options.delta) {
  if (!(delta_ >= 0) || !std::isfinite(delta_))
    throw ValueError(fmt::format("Huber: delta must be finite and >= 0, got {}", delta_));
}

Tensor Huber::call(const Tensor& y_true, const Tensor& y_pred) const {
  Tensor e = error(y_true, y_pred, class_name());
  Tensor a = ops::abs(e);
  Tensor quadratic = 0.5 * ops::square(e);
  Tensor linear = delta_ * a - 0.5 * delta_ * delta_;
  return ops::mean(ops::where(ops::less_equal(a, ops::scalar_like(a, delta_)), quadratic, linear), {-1});
}

nlohmann::json Huber::get_config() const {
  nlohmann::json config = Loss::get_config();
  config["delta"] = delta_;
  return config;
}

}  // namespace keel::losses
