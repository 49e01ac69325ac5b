#include "keel/core/dtype_policy.h"

#include <fmt/format.h>

#include <mutex>
#include <optional>

#include "keel/core/config.h"
#include "keel/core/error.h"
#include "keel/core/log.h"

namespace keel {
namespace {

constexpr std::string_view kMixedBfloat16 = "mixed_bfloat16";

std::mutex g_mutex;
std::optional<DTypePolicy> g_policy;

}  // namespace

DTypePolicy::DTypePolicy(DType dtype) : variable_dtype_(dtype) {
  if (!is_floating(dtype))
    throw ValueError(fmt::format("DTypePolicy: the dtype must be float32 or float64, got {}", dtype_name(dtype)));
}

DTypePolicy DTypePolicy::from_name(std::string_view name) {
  if (name == "float32") return DTypePolicy(DType::float32);
  if (name == "float64") return DTypePolicy(DType::float64);
  if (name == kMixedBfloat16) {
    DTypePolicy policy(DType::float32);
    policy.bfloat16_ = true;
    return policy;
  }
  throw ValueError(fmt::format(
      "DTypePolicy: unknown policy '{}' (keel has \"float32\", \"float64\" and \"mixed_bfloat16\"; "
      "mixed_float16 needs a float16 type keel does not have)",
      name));
}

std::string DTypePolicy::name() const { return bfloat16_ ? std::string(kMixedBfloat16) : dtype_name(variable_dtype_); }

std::string DTypePolicy::compute_dtype() const { return bfloat16_ ? "bfloat16" : dtype_name(variable_dtype_); }

namespace mixed_precision {

void set_global_policy(const DTypePolicy& policy) {
  if (policy.computes_in_bfloat16()) {
    static std::once_flag once;
    std::call_once(once, [] {
      log::warn(
          "mixed_bfloat16: layers round their inputs, weights and outputs to bfloat16 but compute in float32 "
          "arithmetic (keel has no bfloat16 kernels yet): bfloat16's precision, not its speed");
    });
  }
  std::lock_guard lock(g_mutex);
  g_policy = policy;
}

void set_global_policy(std::string_view name) { set_global_policy(DTypePolicy::from_name(name)); }

void clear_global_policy() {
  std::lock_guard lock(g_mutex);
  g_policy.reset();
}

DTypePolicy global_policy() {
  std::lock_guard lock(g_mutex);
  return g_policy ? *g_policy : DTypePolicy(config::floatx_dtype());
}

}  // namespace mixed_precision
}  // namespace keel
