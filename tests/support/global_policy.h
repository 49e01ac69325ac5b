#pragma once
// New layers take the dtype policy `name` while a GlobalPolicy is alive; then the policy follows floatx again.
#include <string_view>

#include "keel/core/dtype_policy.h"

namespace keel::test {

struct GlobalPolicy {
  explicit GlobalPolicy(std::string_view name) { mixed_precision::set_global_policy(name); }
  ~GlobalPolicy() { mixed_precision::clear_global_policy(); }
  GlobalPolicy(const GlobalPolicy&) = delete;
  GlobalPolicy& operator=(const GlobalPolicy&) = delete;
};

}  // namespace keel::test
