#include "keel/optim/schedules.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <nlohmann/json.hpp>

#include "keel/core/error.h"

namespace keel::optim {
namespace {

void require_positive_steps(const char* schedule, const char* arg, std::int64_t value) {
  if (value <= 0) throw ValueError(fmt::format("{}: {} must be positive, got {}", schedule, arg, value));
}

void require_finite(const char* schedule, const char* arg, double value) {
  if (!std::isfinite(value)) throw ValueError(fmt::format("{}: {} must be finite, got {}", schedule, arg, value));
}

}  // namespace

nlohmann::json LearningRateSchedule::get_config() const {
  return nlohmann::json{{"class_name", class_name()}, {"config", config()}};
}

ExponentialDecay::ExponentialDecay(double initial_learning_rate, std::int64_t decay_steps, double decay_rate,
                                   bool staircase)
    : initial_learning_rate_(initial_learning_rate),
      decay_steps_(decay_steps),
      decay_rate_(decay_rate),
      staircase_(staircase) {
  require_finite("ExponentialDecay", "initial_learning_rate", initial_learning_rate);
  require_positive_steps("ExponentialDecay", "decay_steps", decay_steps);
  require_finite("ExponentialDecay", "decay_rate", decay_rate);
}

double ExponentialDecay::operator()(std::int64_t step) const {
  double exponent = static_cast<double>(step) / static_cast<double>(decay_steps_);
  if (staircase_) exponent = std::floor(exponent);
  return initial_learning_rate_ * std::pow(decay_rate_, exponent);
}

nlohmann::json ExponentialDecay::config() const {
  return {{"initial_learning_rate", initial_learning_rate_},
          {"decay_steps", decay_steps_},
          {"decay_rate", decay_rate_},
          {"staircase", staircase_}};
}

PiecewiseConstantDecay::PiecewiseConstantDecay(std::vector<std::int64_t> boundaries, std::vector<double> values)
    : boundaries_(std::move(boundaries)), values_(std::move(values)) {
  if (values_.size() != boundaries_.size() + 1)
    throw ValueError(fmt::format(
        "PiecewiseConstantDecay: values must have one more element than boundaries, got {} values and {} boundaries",
        values_.size(), boundaries_.size()));
  for (std::size_t i = 1; i < boundaries_.size(); ++i)
    if (boundaries_[i] <= boundaries_[i - 1])
      throw ValueError(fmt::format("PiecewiseConstantDecay: boundaries must increase strictly, got {} after {}",
                                   boundaries_[i], boundaries_[i - 1]));
  for (double v : values_) require_finite("PiecewiseConstantDecay", "values", v);
}

double PiecewiseConstantDecay::operator()(std::int64_t step) const {
  // The first boundary not below `step` picks the value; a step equal to a boundary stays left of it.
  auto it = std::lower_bound(boundaries_.begin(), boundaries_.end(), step);
  return values_[static_cast<std::size_t>(it - boundaries_.begin())];
}

nlohmann::json PiecewiseConstantDecay::config() const { return {{"boundaries", boundaries_}, {"values", values_}}; }

CosineDecay::CosineDecay(double initial_learning_rate, std::int64_t decay_steps, double alpha,
                         std::optional<double> warmup_target, std::int64_t warmup_steps)
    : initial_learning_rate_(initial_learning_rate),
      decay_steps_(decay_steps),
      alpha_(alpha),
      warmup_target_(warmup_target),
      warmup_steps_(warmup_steps) {
  require_finite("CosineDecay", "initial_learning_rate", initial_learning_rate);
  require_positive_steps("CosineDecay", "decay_steps", decay_steps);
  require_finite("CosineDecay", "alpha", alpha);
  if (warmup_target) require_finite("CosineDecay", "warmup_target", *warmup_target);
  if (warmup_steps < 0)
    throw ValueError(fmt::format("CosineDecay: warmup_steps must be >= 0, got {}", warmup_steps));
}

double CosineDecay::operator()(std::int64_t step) const {
  const double target = warmup_target_.value_or(initial_learning_rate_);
  if (step < warmup_steps_) {
    double fraction = static_cast<double>(step) / static_cast<double>(warmup_steps_);
    return (target - initial_learning_rate_) * fraction + initial_learning_rate_;
  }
  double s = static_cast<double>(std::min(step - warmup_steps_, decay_steps_));
  double cosine = 0.5 * (1.0 + std::cos(std::numbers::pi * s / static_cast<double>(decay_steps_)));
  return target * ((1.0 - alpha_) * cosine + alpha_);
}

nlohmann::json CosineDecay::config() const {
  nlohmann::json target = warmup_target_ ? nlohmann::json(*warmup_target_) : nlohmann::json(nullptr);
  return {{"initial_learning_rate", initial_learning_rate_},
          {"decay_steps", decay_steps_},
          {"alpha", alpha_},
          {"warmup_target", target},
          {"warmup_steps", warmup_steps_}};
}

}  // namespace keel::optim
