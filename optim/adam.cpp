#include "keel/optim/adam.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "keel/optim/detail/update_loop.h"

namespace keel::optim {
namespace {

// Keras's names for Adam's slots; the strings are the slots' names in state() and saved files.
constexpr const char* kMomentums = "m";
constexpr const char* kVelocities = "v";
constexpr const char* kVelocityHats = "v_hat";  // amsgrad only

template <class T>
struct AdamScalars {
  T alpha;
  T one_minus_beta_1;
  T one_minus_beta_2;
  T epsilon;
  T decay;
};

template <class T, bool kDecay, bool kAmsgrad>
void adam_kernel(T* __restrict w, const T* __restrict g, T* __restrict m, T* __restrict v, T* __restrict v_hat,
                 std::int64_t b, std::int64_t e, AdamScalars<T> s) {
  for (std::int64_t i = b; i < e; ++i) {
    const T gi = g[i];
    const T mi = m[i] + (gi - m[i]) * s.one_minus_beta_1;
    T vi = v[i] + (gi * gi - v[i]) * s.one_minus_beta_2;
    m[i] = mi;
    v[i] = vi;
    if constexpr (kAmsgrad) {
      vi = std::max(v_hat[i], vi);
      v_hat[i] = vi;
    }
    w[i] = detail::decayed<kDecay>(w[i], s.decay) - (mi * s.alpha) / (std::sqrt(vi) + s.epsilon);
  }
}

}  // namespace

std::vector<Optimizer::SlotSpec> Adam::adam_slots(bool amsgrad) {
  std::vector<SlotSpec> specs{{kMomentums, 0.0}, {kVelocities, 0.0}};
  if (amsgrad) specs.push_back({kVelocityHats, 0.0});
  return specs;
}

Adam::Adam(AdamOptions options)
    : Adam("Adam", common_options(options), options.beta_1, options.beta_2, options.epsilon, options.amsgrad) {}

Adam::Adam(std::string class_name, CommonOptions common, double beta_1, double beta_2, double epsilon, bool amsgrad)
    : Optimizer(std::move(class_name), std::move(common), adam_slots(amsgrad)),
      beta_1_(beta_1),
      beta_2_(beta_2),
      epsilon_(epsilon),
      amsgrad_(amsgrad) {
  require_in_unit_interval("beta_1", beta_1_);
  require_in_unit_interval("beta_2", beta_2_);
  require_positive("epsilon", epsilon_);
}

void Adam::update_step(const Tensor& gradient, const Tensor& value, const Slots& slots,
                       const StepContext& context) {
  const double t = static_cast<double>(context.step);
  const double alpha =
      context.learning_rate * std::sqrt(1.0 - std::pow(beta_2_, t)) / (1.0 - std::pow(beta_1_, t));
  detail::dispatch_update(value.dtype(), "Adam", context.weight_decay_rate != 0.0, [&](auto zero, auto decay_flag) {
    using T = decltype(zero);
    constexpr bool kDecay = decltype(decay_flag)::value;
    AdamScalars<T> s{static_cast<T>(alpha), static_cast<T>(1.0 - beta_1_), static_cast<T>(1.0 - beta_2_),
                     static_cast<T>(epsilon_), static_cast<T>(context.weight_decay_rate)};
    T* w = value.data<T>();
    const T* g = gradient.data<T>();
    T* m = slots[kMomentums].data<T>();
    T* v = slots[kVelocities].data<T>();
    T* v_hat = amsgrad_ ? slots[kVelocityHats].data<T>() : nullptr;
    detail::for_each_range(value.numel(), [&](std::int64_t b, std::int64_t e) {
      if (amsgrad_)
        adam_kernel<T, kDecay, true>(w, g, m, v, v_hat, b, e, s);
      else
        adam_kernel<T, kDecay, false>(w, g, m, v, nullptr, b, e, s);
    });
  });
}

nlohmann::json Adam::specific_config() const {
  return {{"beta_1", beta_1_}, {"beta_2", beta_2_}, {"epsilon", epsilon_}, {"amsgrad", amsgrad_}};
}

}  // namespace keel::optim
