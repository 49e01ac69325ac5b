#pragma once
// Internal to optim/: the scaffolding every fused update kernel shares. A kernel is a loop over
// [b, e) of raw, contiguous float or double arrays; the decoupled weight decay is folded into the
// same pass as a compile-time switch so the plain path carries no extra work.
#include <cstdint>
#include <type_traits>

#include "keel/core/dispatch.h"
#include "keel/core/parallel.h"
#include "keel/core/tensor.h"

namespace keel::optim::detail {

// Elements per chunk: large tensors are split across threads; the update is elementwise, so
// the result does not depend on the thread count.
inline constexpr std::int64_t kUpdateGrain = std::int64_t{1} << 15;

// Calls fn(T{}, std::bool_constant<decay>{}) with T the tensor's float type.
template <class Fn>
void dispatch_update(DType dtype, const char* op, bool decay, Fn&& fn) {
  keel::detail::dispatch_float(dtype, op, [&](auto zero) {
    if (decay)
      fn(zero, std::true_type{});
    else
      fn(zero, std::false_type{});
  });
}

// Calls body(b, e) over [0, n) in fixed chunks.
template <class Body>
void for_each_range(std::int64_t n, Body&& body) {
  parallel::for_each_chunk(0, n, kUpdateGrain, [&](std::int64_t, std::int64_t b, std::int64_t e) { body(b, e); });
}

// w − w·rate (Keras: variable − variable·weight_decay·lr) when decaying, else w.
template <bool kDecay, class T>
inline T decayed(T w, T rate) {
  if constexpr (kDecay) {
    return w - w * rate;
  } else {
    (void)rate;
    return w;
  }
}

}  // namespace keel::optim::detail
