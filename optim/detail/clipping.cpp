#include "keel/optim/detail/clipping.h"

#include <cmath>
#include <limits>

#include "keel/core/dispatch.h"
#include "keel/core/kernels/elementwise.h"

namespace keel::optim {
namespace {

Tensor scaled(const Tensor& gradient, double factor) {
  Tensor out = Tensor::empty(gradient.shape(), gradient.dtype());
  keel::detail::dispatch_float(gradient.dtype(), "clip_by_norm", [&](auto zero) {
    using T = decltype(zero);
    const T* g = gradient.data<T>();
    T* o = out.data<T>();
    const T f = static_cast<T>(factor);
    for (std::int64_t i = 0, n = gradient.numel(); i < n; ++i) o[i] = g[i] * f;
  });
  return out;
}

}  // namespace

double squared_l2_norm(const Tensor& gradient) {
  Tensor g = gradient.contiguous();
  return keel::detail::dispatch_float(g.dtype(), "squared_l2_norm", [&](auto zero) {
    using T = decltype(zero);
    const T* p = g.data<T>();
    double sum = 0.0;
    for (std::int64_t i = 0, n = g.numel(); i < n; ++i) sum += static_cast<double>(p[i]) * static_cast<double>(p[i]);
    return sum;
  });
}

Tensor clip_by_norm(const Tensor& gradient, double clipnorm) {
  Tensor g = gradient.contiguous();
  double norm = std::sqrt(squared_l2_norm(g));
  return norm > clipnorm ? scaled(g, clipnorm / norm) : g;
}

Tensor clip_by_value(const Tensor& gradient, double clipvalue) {
  return kernels::clip(gradient, -clipvalue, clipvalue);
}

std::vector<Tensor> clip_by_global_norm(const std::vector<Tensor>& gradients, double global_clipnorm) {
  double sum = 0.0;
  for (const Tensor& g : gradients) sum += squared_l2_norm(g);
  double norm = std::sqrt(sum);
  std::vector<Tensor> out;
  out.reserve(gradients.size());
  if (!std::isfinite(norm)) {
    for (const Tensor& g : gradients) out.push_back(scaled(g.contiguous(), std::numeric_limits<double>::quiet_NaN()));
    return out;
  }
  for (const Tensor& g : gradients) out.push_back(norm > global_clipnorm ? scaled(g.contiguous(), global_clipnorm / norm) : g);
  return out;
}

}  // namespace keel::optim
