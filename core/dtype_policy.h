#pragma once
// Keras's dtype policies: the dtype a layer keeps its variables in and the one it computes in.
#include <string>
#include <string_view>

#include "keel/core/dtype.h"

namespace keel {

class DTypePolicy {
 public:
  // A plain policy: variables and computation in `dtype` (float32 or float64; ValueError otherwise).
  explicit DTypePolicy(DType dtype = DType::float32);
  // "float32", "float64" or "mixed_bfloat16" (float32 variables, bfloat16 computation: see
  // docs/mixed_precision.md); anything else is a ValueError naming the policies keel has.
  static DTypePolicy from_name(std::string_view name);

  // The policy's Keras name: "float32", "float64" or "mixed_bfloat16".
  std::string name() const;
  DType variable_dtype() const { return variable_dtype_; }
  // "float32", "float64" or "bfloat16".
  std::string compute_dtype() const;
  bool computes_in_bfloat16() const { return bfloat16_; }

  bool operator==(const DTypePolicy& other) const = default;

 private:
  DType variable_dtype_;
  bool bfloat16_ = false;
};

namespace mixed_precision {

// The policy new layers take (Keras's keras.mixed_precision.set_global_policy). Until one is set it is the
// plain policy of config::floatx(). Setting "mixed_bfloat16" logs a warning once: keel has bfloat16's
// rounding but no bfloat16 kernels yet, so the policy is not faster than float32.
void set_global_policy(const DTypePolicy& policy);
void set_global_policy(std::string_view name);
// Back to following config::floatx() (tf.keras's set_global_policy(None)).
void clear_global_policy();
DTypePolicy global_policy();

}  // namespace mixed_precision
}  // namespace keel
