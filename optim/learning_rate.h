#pragma once
// An optimizer's learning rate: a constant or a schedule evaluated at the iteration count.
// Implicitly constructible from both, so options read `.learning_rate = 1e-3` or
// `.learning_rate = std::make_shared<optim::CosineDecay>(1e-3, 1000)`.
#include <concepts>
#include <cstdint>
#include <memory>

#include <nlohmann/json_fwd.hpp>

#include "keel/optim/schedules.h"

namespace keel::optim {

class LearningRate {
 public:
  LearningRate(double value) : value_(value) {}
  LearningRate(std::shared_ptr<LearningRateSchedule> schedule) : schedule_(std::move(schedule)) {}
  template <std::derived_from<LearningRateSchedule> S>
  LearningRate(std::shared_ptr<S> schedule)
      : LearningRate(std::shared_ptr<LearningRateSchedule>(std::move(schedule))) {}

  bool is_schedule() const { return schedule_ != nullptr; }
  const std::shared_ptr<LearningRateSchedule>& schedule() const { return schedule_; }
  // The rate at `step`: the constant, or the schedule's value.
  double at(std::int64_t step) const { return schedule_ ? (*schedule_)(step) : value_; }
  // A number, or the schedule's get_config().
  nlohmann::json to_json() const;

 private:
  double value_ = 0.0;
  std::shared_ptr<LearningRateSchedule> schedule_;
};

}  // namespace keel::optim
