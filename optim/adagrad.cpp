#include "keel/optim/adagrad.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "keel/optim/detail/update_loop.h"

namespace keel::optim {
namespace {

// Keras's name for Adagrad's slot; the string is the slot's name in state() and saved files.
constexpr const char* kAccumulators = "accumulator";

template <class T, bool kDecay>
void adagrad_kernel(T* __restrict w, const T* __restrict g, T* __restrict acc, std::int64_t b, std::int64_t e, T lr,
                    T epsilon, T decay) {
  for (std::int64_t i = b; i < e; ++i) {
    const T gi = g[i];
    const T ai = acc[i] + gi * gi;
    acc[i] = ai;
    w[i] = detail::decayed<kDecay>(w[i], decay) - lr * gi / std::sqrt(ai + epsilon);
  }
}

}  // namespace

Adagrad::Adagrad(AdagradOptions options)
    : Optimizer("Adagrad", common_options(options), {{kAccumulators, options.initial_accumulator_value}}),
      initial_accumulator_value_(options.initial_accumulator_value),
      epsilon_(options.epsilon) {
  require_non_negative("initial_accumulator_value", initial_accumulator_value_);
  require_positive("epsilon", epsilon_);
}

void Adagrad::update_step(const Tensor& gradient, const Tensor& value, const Slots& slots,
                          const StepContext& context) {
  detail::dispatch_update(value.dtype(), "Adagrad", context.weight_decay_rate != 0.0, [&](auto zero, auto decay_flag) {
    using T = decltype(zero);
    constexpr bool kDecay = decltype(decay_flag)::value;
    T* w = value.data<T>();
    const T* g = gradient.data<T>();
    T* acc = slots[kAccumulators].data<T>();
    const T lr = static_cast<T>(context.learning_rate);
    const T epsilon = static_cast<T>(epsilon_);
    const T decay = static_cast<T>(context.weight_decay_rate);
    detail::for_each_range(value.numel(), [&](std::int64_t b, std::int64_t e) {
      adagrad_kernel<T, kDecay>(w, g, acc, b, e, lr, epsilon, decay);
    });
  });
}

nlohmann::json Adagrad::specific_config() const {
  return {{"initial_accumulator_value", initial_accumulator_value_}, {"epsilon", epsilon_}};
}

}  // namespace keel::optim
