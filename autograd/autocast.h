#pragma once
// Keras's autocast scope, for the mixed_bfloat16 policy: while a layer's call runs, reading one of its
// float32 variables (Variable::value()) gives the value rounded to bfloat16, recorded on the tape so the
// gradient reaches the float32 variable. Layer::operator() opens one per call; the innermost scope decides,
// so a float32 layer inside a mixed_bfloat16 model reads its variables unrounded. Variables made with
// autocast off (the normalization layers' parameters and moving statistics) are never rounded.
#include <map>

#include "keel/core/tensor.h"

namespace keel {

class AutocastScope {
 public:
  explicit AutocastScope(bool to_bfloat16);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

  // The value a variable's read gives in the current thread's innermost scope: `value` itself when no
  // scope rounds or it is not float32, else its bfloat16 rounding, made once per scope and variable (`key`).
  static const Tensor& read(const void* key, const Tensor& value);

 private:
  AutocastScope* outer_;
  bool to_bfloat16_;
  std::map<const void*, Tensor> rounded_;
};

}  // namespace keel
