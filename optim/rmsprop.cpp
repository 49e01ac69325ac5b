#include "keel/optim/rmsprop.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "keel/optim/detail/update_loop.h"

namespace keel::optim {
namespace {

// Keras's names for RMSprop's slots; the strings are the slots' names in state() and saved files.
constexpr const char* kVelocities = "velocity";
constexpr const char* kAverageGradients = "average_gradient";  // centered only
constexpr const char* kMomentums = "momentum";                 // momentum > 0 only

template <class T>
struct RMSpropScalars {
  T learning_rate;
  T rho;
  T one_minus_rho;
  T momentum;
  T epsilon;
  T decay;
};

template <class T, bool kDecay, bool kCentered, bool kMomentum>
void rmsprop_kernel(T* __restrict w, const T* __restrict g, T* __restrict v, T* __restrict a, T* __restrict s,
                    std::int64_t b, std::int64_t e, RMSpropScalars<T> c) {
  for (std::int64_t i = b; i < e; ++i) {
    const T gi = g[i];
    const T vi = c.rho * v[i] + c.one_minus_rho * (gi * gi);
    v[i] = vi;
    T denominator;
    if constexpr (kCentered) {
      const T ai = c.rho * a[i] + c.one_minus_rho * gi;
      a[i] = ai;
      denominator = vi - ai * ai + c.epsilon;
    } else {
      denominator = vi + c.epsilon;
    }
    T step = c.learning_rate * gi / std::sqrt(denominator);
    if constexpr (kMomentum) {
      step = c.momentum * s[i] + step;
      s[i] = step;
    }
    w[i] = detail::decayed<kDecay>(w[i], c.decay) - step;
  }
}

}  // namespace

std::vector<Optimizer::SlotSpec> RMSprop::rmsprop_slots(const RMSpropOptions& options) {
  std::vector<SlotSpec> specs{{kVelocities, 0.0}};
  if (options.centered) specs.push_back({kAverageGradients, 0.0});
  if (options.momentum > 0.0) specs.push_back({kMomentums, 0.0});
  return specs;
}

RMSprop::RMSprop(RMSpropOptions options)
    : Optimizer("RMSprop", common_options(options), rmsprop_slots(options)),
      rho_(options.rho),
      momentum_(options.momentum),
      epsilon_(options.epsilon),
      centered_(options.centered) {
  require_in_unit_interval("rho", rho_);
  require_non_negative("momentum", momentum_);
  require_positive("epsilon", epsilon_);
}

void RMSprop::update_step(const Tensor& gradient, const Tensor& value, const Slots& slots,
                          const StepContext& context) {
  detail::dispatch_update(value.dtype(), "RMSprop", context.weight_decay_rate != 0.0, [&](auto zero, auto decay_flag) {
    using T = decltype(zero);
    constexpr bool kDecay = decltype(decay_flag)::value;
    RMSpropScalars<T> c{static_cast<T>(context.learning_rate), static_cast<T>(rho_), static_cast<T>(1.0 - rho_),
                        static_cast<T>(momentum_), static_cast<T>(epsilon_),
                        static_cast<T>(context.weight_decay_rate)};
    T* w = value.data<T>();
    const T* g = gradient.data<T>();
    T* v = slots[kVelocities].data<T>();
    T* a = centered_ ? slots[kAverageGradients].data<T>() : nullptr;
    T* s = momentum_ > 0.0 ? slots[kMomentums].data<T>() : nullptr;
    detail::for_each_range(value.numel(), [&](std::int64_t b, std::int64_t e) {
      if (centered_ && s)
        rmsprop_kernel<T, kDecay, true, true>(w, g, v, a, s, b, e, c);
      else if (centered_)
        rmsprop_kernel<T, kDecay, true, false>(w, g, v, a, s, b, e, c);
      else if (s)
        rmsprop_kernel<T, kDecay, false, true>(w, g, v, a, s, b, e, c);
      else
        rmsprop_kernel<T, kDecay, false, false>(w, g, v, a, s, b, e, c);
    });
  });
}

nlohmann::json RMSprop::specific_config() const {
  return {{"rho", rho_}, {"momentum", momentum_}, {"epsilon", epsilon_}, {"centered", centered_}};
}

}  // namespace keel::optim
