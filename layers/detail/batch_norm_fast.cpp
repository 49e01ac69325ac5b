// The fast path: single-axis BatchNormalization as one differentiable op over the core kernels.
#include <memory>

#include "keel/autograd/record.h"
#include "keel/core/dispatch.h"
#include "keel/core/kernels/batch_norm.h"
#include "keel/core/replica_context.h"
#include "keel/layers/detail/batch_norm_step.h"

namespace keel::layers::detail {
namespace {

kernels::ChannelLayout layout_of(const Shape& shape, std::int64_t axis) {
  kernels::ChannelLayout layout{1, shape[static_cast<std::size_t>(axis)], 1};
  for (std::int64_t i = 0; i < static_cast<std::int64_t>(shape.size()); ++i) {
    if (i < axis) layout.outer *= shape[static_cast<std::size_t>(i)];
    if (i > axis) layout.inner *= shape[static_cast<std::size_t>(i)];
  }
  return layout;
}

template <class T>
T* data_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

Tensor contiguous_or_empty(const Tensor& t) { return t.defined() ? t.contiguous() : Tensor(); }

// What backward needs from the forward pass (double per channel).
struct SavedStatistics {
  std::vector<double> mean, invstd, r, d;
  double count = 0;  // values per channel behind the statistics (global under synchronization)
};

template <class T>
Grads training_backward(const Tensor& grad_y, const Tensor& x, const Tensor& gamma, bool has_beta,
                        const kernels::ChannelLayout& layout, const SavedStatistics& s, ReplicaContext* rc) {
  Tensor gy = grad_y.contiguous();
  Tensor gx = Tensor::empty(x.shape(), x.dtype());
  Tensor gg = gamma.defined() ? Tensor::empty({layout.channels}, x.dtype()) : Tensor();
  Tensor gb = has_beta ? Tensor::empty({layout.channels}, x.dtype()) : Tensor();
  const double* r = s.r.empty() ? nullptr : s.r.data();
  const double* d = s.d.empty() ? nullptr : s.d.data();
  if (!rc) {
    kernels::batch_norm_backward<T>(layout, gy.data<T>(), x.data<T>(), s.mean.data(), s.invstd.data(),
                                    data_or_null<T>(gamma), r, d, gx.data<T>(), data_or_null<T>(gg),
                                    data_or_null<T>(gb));
  } else {
    const auto c = static_cast<std::size_t>(layout.channels);
    std::vector<double> sums(2 * c);  // [sum_dy | sum_dy_xhat]
    kernels::batch_norm_backward_reduce<T>(layout, gy.data<T>(), x.data<T>(), s.mean.data(), s.invstd.data(),
                                           sums.data(), sums.data() + c);
    // gamma and beta get this replica's share (the strategy sums variable gradients); x gets the global sums.
    kernels::batch_norm_param_grads<T>(layout.channels, sums.data(), sums.data() + c, r, d, data_or_null<T>(gg),
                                       data_or_null<T>(gb));
    rc->all_reduce_sum(sums);
    kernels::batch_norm_backward_apply<T>(layout, gy.data<T>(), x.data<T>(), s.mean.data(), s.invstd.data(),
                                          data_or_null<T>(gamma), r, sums.data(), sums.data() + c, s.count,
                                          gx.data<T>());
  }
  return Grads{gx, gg, gb};
}

template <class T>
BatchNormTraining training_forward(const Tensor& x_in, std::int64_t axis, const BatchNormWeights<Tensor>& state,
                                   const BatchNormalizationOptions& o) {
  const Tensor x = x_in.contiguous(), gamma = contiguous_or_empty(state.gamma), beta = contiguous_or_empty(state.beta);
  const kernels::ChannelLayout layout = layout_of(x.shape(), axis);
  const auto c = static_cast<std::size_t>(layout.channels);
  ReplicaContext* rc = batch_norm_sync_group(o);
  auto saved = std::make_shared<SavedStatistics>();
  saved->mean.resize(c);
  saved->invstd.resize(c);
  saved->count = static_cast<double>(layout.outer * layout.inner);
  std::vector<double> var(c);
  Tensor y = Tensor::empty(x.shape(), x.dtype());
  if (!rc && !o.renorm) {
    kernels::batch_norm_forward_training<T>(layout, x.data<T>(), data_or_null<T>(gamma), data_or_null<T>(beta),
                                            o.epsilon, y.data<T>(), saved->mean.data(), var.data(),
                                            saved->invstd.data());
  } else {
    kernels::batch_norm_moments<T>(layout, x.data<T>(), saved->mean.data(), var.data());
    if (rc) {
      std::vector<Moments> local(c);
      for (std::size_t i = 0; i < c; ++i) local[i] = {saved->count, saved->mean[i], var[i] * saved->count};
      std::vector<Moments> global = rc->all_reduce_moments(local);
      saved->count = c ? global[0].count : 0;
      for (std::size_t i = 0; i < c; ++i) {
        saved->mean[i] = global[i].mean;
        var[i] = global[i].count > 0 ? global[i].m2 / global[i].count : 0.0;
      }
    }
    kernels::batch_norm_invstd(layout.channels, var.data(), o.epsilon, saved->invstd.data());
    if (o.renorm) {
      RenormCorrection rd = renorm_correction(saved->mean, var, state, o);
      saved->r = std::move(rd.r);
      saved->d = std::move(rd.d);
    }
    kernels::batch_norm_normalize<T>(
        layout, x.data<T>(), saved->mean.data(), saved->invstd.data(), data_or_null<T>(gamma), data_or_null<T>(beta),
        saved->r.empty() ? nullptr : saved->r.data(), saved->d.empty() ? nullptr : saved->d.data(), y.data<T>());
  }
  BatchNormTraining out;
  out.stats.mean = saved->mean;
  out.stats.var = var;
  out.stats.has_data.assign(c, saved->count > 0);
  out.stats.one_value_per_channel = c > 0 && saved->count == 1;
  const bool has_beta = beta.defined();
  out.output = record("batch_normalization", y, {x_in, state.gamma, state.beta},
                      [x, gamma, has_beta, layout, saved, rc](const Tensor& g) {
                        return training_backward<T>(g, x, gamma, has_beta, layout, *saved, rc);
                      },
                      {x, gamma});
  return out;
}

template <class T>
Tensor inference_forward(const Tensor& x_in, std::int64_t axis, const BatchNormWeights<Tensor>& state, double eps) {
  const Tensor x = x_in.contiguous(), gamma = contiguous_or_empty(state.gamma), beta = contiguous_or_empty(state.beta);
  const Tensor moving_mean = state.moving_mean.contiguous(), moving_var = state.moving_variance.contiguous();
  const kernels::ChannelLayout layout = layout_of(x.shape(), axis);
  Tensor y = Tensor::empty(x.shape(), x.dtype());
  kernels::batch_norm_inference<T>(layout, x.data<T>(), data_or_null<T>(gamma), data_or_null<T>(beta),
                                   moving_mean.data<T>(), moving_var.data<T>(), eps, y.data<T>());
  auto stats = std::make_shared<SavedStatistics>();
  stats->mean = moving_mean.to_vector();
  stats->invstd.resize(stats->mean.size());
  std::vector<double> var = moving_var.to_vector();
  kernels::batch_norm_invstd(layout.channels, var.data(), eps, stats->invstd.data());
  const bool has_beta = beta.defined();
  return record("batch_normalization_inference", y, {x_in, state.gamma, state.beta},
                [x, gamma, has_beta, layout, stats](const Tensor& g_in) {
                  // y = x̂·gamma + beta with x̂ = (x − moving_mean)·invstd: the statistics are constants.
                  Tensor g = g_in.contiguous();
                  Tensor gx = Tensor::empty(x.shape(), x.dtype());
                  std::vector<double> zero(stats->mean.size(), 0.0);
                  kernels::batch_norm_normalize<T>(layout, g.data<T>(), zero.data(), stats->invstd.data(),
                                                   data_or_null<T>(gamma), nullptr, nullptr, nullptr, gx.data<T>());
                  Tensor gg = gamma.defined() ? Tensor::empty({layout.channels}, x.dtype()) : Tensor();
                  Tensor gb = has_beta ? Tensor::empty({layout.channels}, x.dtype()) : Tensor();
                  std::vector<double> sum_dy(zero.size()), sum_dy_xhat(zero.size());
                  kernels::batch_norm_backward_reduce<T>(layout, g.data<T>(), x.data<T>(), stats->mean.data(),
                                                         stats->invstd.data(), sum_dy.data(), sum_dy_xhat.data());
                  kernels::batch_norm_param_grads<T>(layout.channels, sum_dy.data(), sum_dy_xhat.data(), nullptr,
                                                     nullptr, data_or_null<T>(gg), data_or_null<T>(gb));
                  return Grads{gx, gg, gb};
                },
                {x, gamma});
}

}  // namespace

BatchNormTraining batch_norm_training_fast(const Tensor& x, std::int64_t axis, const BatchNormWeights<Tensor>& state,
                                           const BatchNormalizationOptions& options) {
  return keel::detail::dispatch_float(x.dtype(), "BatchNormalization", [&](auto tag) {
    return training_forward<decltype(tag)>(x, axis, state, options);
  });
}

Tensor batch_norm_inference_fast(const Tensor& x, std::int64_t axis, const BatchNormWeights<Tensor>& state,
                                 double epsilon) {
  return keel::detail::dispatch_float(x.dtype(), "BatchNormalization", [&](auto tag) {
    return inference_forward<decltype(tag)>(x, axis, state, epsilon);
  });
}

}  // namespace keel::layers::detail
