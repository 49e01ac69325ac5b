#include "keel/optim/learning_rate.h"

#include <nlohmann/json.hpp>

namespace keel::optim {

nlohmann::json LearningRate::to_json() const { return schedule_ ? schedule_->get_config() : nlohmann::json(value_); }

}  // namespace keel::optim
