#include "keel/optim/sgd.h"

#include <nlohmann/json.hpp>

#include "keel/optim/detail/update_loop.h"

namespace keel::optim {
namespace {

// Keras's name for SGD's slot (momentum > 0 only); the string is the slot's name in state() and saved files.
constexpr const char* kMomentums = "momentum";

template <class T, bool kDecay>
void sgd_plain(T* __restrict w, const T* __restrict g, std::int64_t b, std::int64_t e, T lr, T decay) {
  for (std::int64_t i = b; i < e; ++i) w[i] = detail::decayed<kDecay>(w[i], decay) - g[i] * lr;
}

template <class T, bool kDecay, bool kNesterov>
void sgd_momentum(T* __restrict w, const T* __restrict g, T* __restrict m, std::int64_t b, std::int64_t e, T lr,
                  T mu, T decay) {
  for (std::int64_t i = b; i < e; ++i) {
    T velocity = m[i] * mu - g[i] * lr;
    m[i] = velocity;
    T wi = detail::decayed<kDecay>(w[i], decay);
    if constexpr (kNesterov)
      w[i] = wi + (velocity * mu - g[i] * lr);
    else
      w[i] = wi + velocity;
  }
}

}  // namespace

SGD::SGD(SGDOptions options)
    : Optimizer("SGD", common_options(options),
                options.momentum == 0.0 ? std::vector<SlotSpec>{} : std::vector<SlotSpec>{{kMomentums, 0.0}}),
      momentum_(options.momentum), nesterov_(options.nesterov) {
  require_in_closed_unit_interval("momentum", momentum_);
}

void SGD::update_step(const Tensor& gradient, const Tensor& value, const Slots& slots,
                      const StepContext& context) {
  detail::dispatch_update(value.dtype(), "SGD", context.weight_decay_rate != 0.0, [&](auto zero, auto decay_flag) {
    using T = decltype(zero);
    constexpr bool kDecay = decltype(decay_flag)::value;
    T* w = value.data<T>();
    const T* g = gradient.data<T>();
    const T lr = static_cast<T>(context.learning_rate);
    const T decay = static_cast<T>(context.weight_decay_rate);
    Tensor* momentums = slots.find(kMomentums);
    if (!momentums) {
      detail::for_each_range(value.numel(), [&](std::int64_t b, std::int64_t e) {
        sgd_plain<T, kDecay>(w, g, b, e, lr, decay);
      });
      return;
    }
    T* m = momentums->data<T>();
    const T mu = static_cast<T>(momentum_);
    detail::for_each_range(value.numel(), [&](std::int64_t b, std::int64_t e) {
      if (nesterov_)
        sgd_momentum<T, kDecay, true>(w, g, m, b, e, lr, mu, decay);
      else
        sgd_momentum<T, kDecay, false>(w, g, m, b, e, lr, mu, decay);
    });
  });
}

nlohmann::json SGD::specific_config() const { return {{"momentum", momentum_}, {"nesterov", nesterov_}}; }

}  // namespace keel::optim
