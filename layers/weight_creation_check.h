#pragma once
// A hook that sees every weight before Layer::add_weight creates it, so a loader can refuse a config from
// an untrusted file before it allocates: models/saving.cpp lets a layer create only weights whose shape
// and dtype the file holds.
#include <functional>
#include <string>

#include "keel/core/dtype.h"
#include "keel/core/shape.h"

namespace keel::layers {

class Layer;

// Throws to refuse the weight `weight` (its short name, "kernel") of `layer`.
using WeightCreationCheck =
    std::function<void(const Layer& layer, const std::string& weight, const Shape& shape, DType dtype)>;

// Installs `check` on the calling thread while alive (an enclosing check is suspended, and restored after).
class ScopedWeightCreationCheck {
 public:
  explicit ScopedWeightCreationCheck(WeightCreationCheck check);
  ~ScopedWeightCreationCheck();
  ScopedWeightCreationCheck(const ScopedWeightCreationCheck&) = delete;
  ScopedWeightCreationCheck& operator=(const ScopedWeightCreationCheck&) = delete;

 private:
  WeightCreationCheck previous_;
};

// Runs the calling thread's check, if any (Layer::add_weight calls it before the initializer).
void check_weight_creation(const Layer& layer, const std::string& weight, const Shape& shape, DType dtype);

}  // namespace keel::layers
