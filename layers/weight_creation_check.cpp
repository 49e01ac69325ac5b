#include "keel/layers/weight_creation_check.h"

#include <utility>

namespace keel::layers {
namespace {

thread_local WeightCreationCheck current_check;
thread_local InitialValues current_initial = InitialValues::from_initializer;

}  // namespace

ScopedWeightCreationCheck::ScopedWeightCreationCheck(WeightCreationCheck check, InitialValues initial)
    : previous_(std::exchange(current_check, std::move(check))),
      previous_initial_(std::exchange(current_initial, initial)) {}

ScopedWeightCreationCheck::~ScopedWeightCreationCheck() {
  current_check = std::move(previous_);
  current_initial = previous_initial_;
}

void check_weight_creation(const Layer& layer, const std::string& weight, const Shape& shape, DType dtype) {
  if (current_check) current_check(layer, weight, shape, dtype);
}

InitialValues initial_weight_values() { return current_initial; }

}  // namespace keel::layers
