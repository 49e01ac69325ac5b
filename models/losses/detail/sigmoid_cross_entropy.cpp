#include "keel/models/losses/detail/sigmoid_cross_entropy.h"

#include <cmath>

#include "keel/autograd/record.h"
#include "keel/core/dispatch.h"

namespace keel::losses::detail {

Tensor sigmoid_cross_entropy(const Tensor& logits, const Tensor& targets) {
  Tensor x = logits.contiguous(), y = targets.contiguous();
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  const std::int64_t n = x.numel();
  keel::detail::dispatch_float(x.dtype(), "sigmoid_cross_entropy", [&](auto tag) {
    using T = decltype(tag);
    const T* xp = x.data<T>();
    const T* yp = y.data<T>();
    T* o = out.data<T>();
    for (std::int64_t i = 0; i < n; ++i)
      o[i] = std::max(xp[i], T(0)) - xp[i] * yp[i] + std::log1p(std::exp(-std::abs(xp[i])));
  });
  return record("sigmoid_cross_entropy", out, {logits, targets}, [x, y](const Tensor& g) {
    Tensor gx = Tensor::empty(x.shape(), x.dtype()), gy = Tensor::empty(x.shape(), x.dtype());
    Tensor gc = g.contiguous();
    const std::int64_t count = x.numel();
    keel::detail::dispatch_float(x.dtype(), "sigmoid_cross_entropy", [&](auto tag) {
      using T = decltype(tag);
      const T* xp = x.data<T>();
      const T* yp = y.data<T>();
      const T* gp = gc.data<T>();
      T* gxp = gx.data<T>();
      T* gyp = gy.data<T>();
      for (std::int64_t i = 0; i < count; ++i) {
        const T v = xp[i];
        const T e = std::exp(-std::abs(v));  // sigmoid without overflow on either tail
        const T sig = v >= 0 ? T(1) / (T(1) + e) : e / (T(1) + e);
        gxp[i] = gp[i] * (sig - yp[i]);
        gyp[i] = -gp[i] * v;
      }
    });
    return Grads{gx, gy};
  }, {x, y});
}

}  // namespace keel::losses::detail
