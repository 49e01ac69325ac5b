#pragma once
// Learning-rate schedules (docs/semantics.md §6): a learning rate as a function of the optimizer's
// iteration count. Every schedule serializes to {"class_name", "config"} and is rebuilt by
// optim::schedule_from_config (registry.h).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace keel::optim {

class LearningRateSchedule {
 public:
  virtual ~LearningRateSchedule() = default;
  // The learning rate at `step` (the optimizer's iterations before the update).
  virtual double operator()(std::int64_t step) const = 0;
  virtual std::string class_name() const = 0;
  // {"class_name": class_name(), "config": {every constructor argument}}.
  nlohmann::json get_config() const;

 protected:
  virtual nlohmann::json config() const = 0;
};

// initial_learning_rate · decay_rate^(step / decay_steps); the exponent is floored when staircase.
class ExponentialDecay : public LearningRateSchedule {
 public:
  ExponentialDecay(double initial_learning_rate, std::int64_t decay_steps, double decay_rate, bool staircase = false);
  double operator()(std::int64_t step) const override;
  std::string class_name() const override { return "ExponentialDecay"; }

 protected:
  nlohmann::json config() const override;

 private:
  double initial_learning_rate_;
  std::int64_t decay_steps_;
  double decay_rate_;
  bool staircase_;
};

// values[0] for step <= boundaries[0], values[i + 1] for boundaries[i] < step <= boundaries[i + 1],
// values.back() after the last boundary (Keras). Boundaries must increase strictly.
class PiecewiseConstantDecay : public LearningRateSchedule {
 public:
  PiecewiseConstantDecay(std::vector<std::int64_t> boundaries, std::vector<double> values);
  double operator()(std::int64_t step) const override;
  std::string class_name() const override { return "PiecewiseConstantDecay"; }

 protected:
  nlohmann::json config() const override;

 private:
  std::vector<std::int64_t> boundaries_;
  std::vector<double> values_;
};

// Linear warmup from initial_learning_rate to target (warmup_target if given, else
// initial_learning_rate) over warmup_steps, then with s = step − warmup_steps:
// target·((1 − alpha)·½(1 + cos(π·min(s, decay_steps)/decay_steps)) + alpha).
class CosineDecay : public LearningRateSchedule {
 public:
  CosineDecay(double initial_learning_rate, std::int64_t decay_steps, double alpha = 0.0,
              std::optional<double> warmup_target = std::nullopt, std::int64_t warmup_steps = 0);
  double operator()(std::int64_t step) const override;
  std::string class_name() const override { return "CosineDecay"; }

 protected:
  nlohmann::json config() const override;

 private:
  double initial_learning_rate_;
  std::int64_t decay_steps_;
  double alpha_;
  std::optional<double> warmup_target_;
  std::int64_t warmup_steps_;
};

}  // namespace keel::optim
