#pragma once
// A hook that sees every weight before Layer::add_weight creates it, so a loader can refuse a config from
// an untrusted file before it allocates: models/saving.cpp lets a layer create only weights whose shape
// and dtype the file holds. The same loader can have the weights start as zeros instead of running their
// initializers, since it assigns every one of them from the file (the random initializers were most of a
// load's time).
#include <functional>
#include <string>

#include "keel/core/dtype.h"
#include "keel/core/shape.h"

namespace keel::layers {

class Layer;

// Throws to refuse the weight `weight` (its short name, "kernel") of `layer`.
using WeightCreationCheck =
    std::function<void(const Layer& layer, const std::string& weight, const Shape& shape, DType dtype)>;

// What a new weight holds until someone assigns it.
enum class InitialValues {
  from_initializer,
  // Zeros; unseeded initializers then draw nothing from the global random stream. Only for a caller that
  // assigns every weight before the model is used, and discards the model when it cannot.
  zeros,
};

// Installs `check` and `initial` on the calling thread while alive (enclosing ones are suspended, and
// restored after). An empty `check` refuses nothing.
class ScopedWeightCreationCheck {
 public:
  explicit ScopedWeightCreationCheck(WeightCreationCheck check,
                                     InitialValues initial = InitialValues::from_initializer);
  ~ScopedWeightCreationCheck();
  ScopedWeightCreationCheck(const ScopedWeightCreationCheck&) = delete;
  ScopedWeightCreationCheck& operator=(const ScopedWeightCreationCheck&) = delete;

 private:
  WeightCreationCheck previous_;
  InitialValues previous_initial_;
};

// Runs the calling thread's check, if any (Layer::add_weight calls it before the initializer).
void check_weight_creation(const Layer& layer, const std::string& weight, const Shape& shape, DType dtype);

// The calling thread's choice (InitialValues::from_initializer outside any scope).
InitialValues initial_weight_values();

}  // namespace keel::layers
