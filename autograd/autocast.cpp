#include "keel/autograd/autocast.h"

#include "keel/autograd/ops.h"

namespace keel {
namespace {
thread_local AutocastScope* g_innermost = nullptr;
}

AutocastScope::AutocastScope(bool to_bfloat16) : outer_(g_innermost), to_bfloat16_(to_bfloat16) { g_innermost = this; }

AutocastScope::~AutocastScope() { g_innermost = outer_; }

const Tensor& AutocastScope::read(const void* key, const Tensor& value) {
  AutocastScope* scope = g_innermost;
  if (!scope || !scope->to_bfloat16_ || value.dtype() != DType::float32) return value;
  auto [it, inserted] = scope->rounded_.try_emplace(key);
  if (inserted) it->second = ops::round_to_bfloat16(value);
  return it->second;
}

}  // namespace keel
