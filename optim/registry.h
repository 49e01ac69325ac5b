#pragma once
// Optimizers and schedules by name and from their get_config() (fixed allow-lists).
#include <memory>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "keel/optim/optimizer.h"
#include "keel/optim/schedules.h"

namespace keel::optim {

// A default-constructed optimizer for a Keras name: "sgd", "adam", "adamw", "rmsprop",
// "adagrad" (case-insensitive). ValueError listing the known names otherwise.
std::shared_ptr<Optimizer> get(const std::string& name);

// Rebuilds an optimizer from Optimizer::get_config(). An unknown class_name or argument is a
// ValueError naming it (and listing the known ones).
std::shared_ptr<Optimizer> from_config(const nlohmann::json& config);

// Rebuilds a schedule from LearningRateSchedule::get_config().
std::shared_ptr<LearningRateSchedule> schedule_from_config(const nlohmann::json& config);

}  // namespace keel::optim
