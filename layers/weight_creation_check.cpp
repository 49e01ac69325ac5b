#include "keel/layers/weight_creation_check.h"

#include <utility>

namespace keel::layers {
namespace {

thread_local WeightCreationCheck current_check;

}  // namespace

ScopedWeightCreationCheck::ScopedWeightCreationCheck(WeightCreationCheck check)
    : previous_(std::exchange(current_check, std::move(check))) {}

ScopedWeightCreationCheck::~ScopedWeightCreationCheck() { current_check = std::move(previous_); }

void check_weight_creation(const Layer& layer, const std::string& weight, const Shape& shape, DType dtype) {
  if (current_check) current_check(layer, weight, shape, dtype);
}

}  // namespace keel::layers
