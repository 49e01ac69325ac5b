// The composed path: BatchNormalization from differentiable ops in float64, for axis lists, masks,
// ghost batches and adjustment (docs/semantics.md §1.7–§1.10). Autograd supplies the backward pass.
#include <fmt/format.h>

#include <algorithm>
#include <span>

#include "keel/autograd/engine.h"
#include "keel/autograd/grad_mode.h"
#include "keel/autograd/ops.h"
#include "keel/autograd/record.h"
#include "keel/core/error.h"
#include "keel/core/replica_context.h"
#include "keel/layers/detail/batch_norm_step.h"

namespace keel::layers::detail {
namespace {

constexpr DType f64 = DType::float64;
constexpr double keras_epsilon = 1e-7;  // Keras's backend.epsilon()

void all_reduce_in_place(ReplicaContext* rc, Tensor& t) {
  rc->all_reduce_sum(std::span<double>(t.data<double>(), static_cast<std::size_t>(t.numel())));
}

// Sum over replicas; its gradient is the sum over replicas of the upstream gradients (every replica's
// loss depends on every replica's contribution). Identity without a group.
Tensor all_reduce_sum(const Tensor& t, ReplicaContext* rc) {
  if (!rc) return t;
  Tensor out = t.clone();
  all_reduce_in_place(rc, out);
  return record("all_reduce_sum", out, {t}, [rc](const Tensor& g) {
    Tensor total = g.clone();
    all_reduce_in_place(rc, total);
    return Grads{total};
  });
}

// 1 / sqrt(v), and 0 where v == 0, with a gradient that stays finite there.
Tensor safe_rsqrt(const Tensor& v) {
  Tensor zero = ops::equal(v, Tensor::zeros({}, f64));
  Tensor safe = ops::where(zero, Tensor::ones(v.shape(), f64), v);
  return ops::where(zero, Tensor::zeros(v.shape(), f64), 1.0 / ops::sqrt(safe));
}

// The shape of rank `rank` holding `sizes` at `axes` and 1 elsewhere.
Shape broadcast_shape(std::int64_t rank, const std::vector<std::int64_t>& axes, const Shape& sizes) {
  Shape s(static_cast<std::size_t>(rank), 1);
  for (std::size_t i = 0; i < axes.size(); ++i) s[static_cast<std::size_t>(axes[i])] = sizes[i];
  return s;
}

Tensor as_channels(const Tensor& param, const Shape& bshape) {
  return param.defined() ? ops::reshape(ops::cast(param, f64), bshape) : Tensor();
}

// An adjustment tensor as float64 broadcast over the channel shape: one value, or one per channel.
Tensor adjustment_term(const Tensor& t, const Shape& bshape, std::int64_t channels, const char* what,
                       const std::string& error_context) {
  if (!t.defined()) throw ValueError(fmt::format("{}: adjustment returned an undefined {}", error_context, what));
  if (t.numel() == 1) return ops::reshape(ops::cast(t, f64), {});
  if (t.numel() == channels) return ops::reshape(ops::cast(t, f64), bshape);
  throw ShapeError(fmt::format("{}: adjustment {} of shape {} is not broadcastable to the {} channels", error_context,
                               what, to_string(t.shape()), channels));
}

// Per-channel averages over ghost batches that had data (count > 0), and the one-value flag.
BatchStatistics average_over_ghosts(const Tensor& mean, const Tensor& var, const Tensor& count, std::int64_t ghosts) {
  std::vector<double> m = mean.to_vector(), v = var.to_vector(), n = count.to_vector();
  const std::size_t channels = m.size() / static_cast<std::size_t>(ghosts);
  BatchStatistics s{std::vector<double>(channels), std::vector<double>(channels), std::vector<char>(channels), false};
  for (std::size_t c = 0; c < channels; ++c) {
    double groups = 0;
    for (std::size_t g = 0; g < static_cast<std::size_t>(ghosts); ++g) {
      const std::size_t i = g * channels + c;
      if (n[i] == 1) s.one_value_per_channel = true;
      if (n[i] <= 0) continue;
      s.mean[c] += m[i];
      s.var[c] += v[i];
      groups += 1;
    }
    s.has_data[c] = groups > 0;
    if (groups > 0) {
      s.mean[c] /= groups;
      s.var[c] /= groups;
    }
  }
  return s;
}

}  // namespace

BatchNormTraining batch_norm_training_composed(const Tensor& x, const Tensor& mask,
                                               const std::vector<std::int64_t>& axes,
                                               const BatchNormWeights<Tensor>& state,
                                               const BatchNormalizationOptions& o, const std::string& error_context) {
  Tensor xs = x, expanded_mask = mask.defined() ? batch_norm_expanded_mask(mask, x, error_context) : Tensor();
  std::vector<std::int64_t> channel_axes = axes;
  std::int64_t ghosts = 1;
  if (o.virtual_batch_size) {
    // Ghost batch j holds samples j, j+G, j+2G, ...: the row-major reshape [V, G, ...].
    const std::int64_t batch = x.shape()[0], v = *o.virtual_batch_size;
    if (batch % v != 0)
      throw ValueError(
          fmt::format("{}: the batch size {} is not divisible by virtual_batch_size {}", error_context, batch, v));
    ghosts = batch / v;
    Shape split = x.shape();
    split[0] = ghosts;
    split.insert(split.begin(), v);
    xs = ops::reshape(x, split);
    if (expanded_mask.defined()) expanded_mask = expanded_mask.reshape(split);
    for (auto& a : channel_axes) ++a;
  }
  const std::int64_t rank = xs.dim();
  std::vector<std::int64_t> reduce_axes;
  Shape stat_shape = xs.shape();
  double group_size = 1;
  for (std::int64_t a = 0; a < rank; ++a) {
    const bool kept = std::find(channel_axes.begin(), channel_axes.end(), a) != channel_axes.end() ||
                      (o.virtual_batch_size && a == 1);
    if (kept) continue;
    reduce_axes.push_back(a);
    group_size *= static_cast<double>(xs.shape()[static_cast<std::size_t>(a)]);
    stat_shape[static_cast<std::size_t>(a)] = 1;
  }
  const Shape param_shape = batch_norm_param_shape(x.shape(), axes);
  const Shape bshape = broadcast_shape(rank, channel_axes, param_shape);
  const std::int64_t channels = checked_numel(param_shape);
  ReplicaContext* rc = batch_norm_sync_group(o);

  // Counts, denominators and the shift carry no gradient.
  Tensor count, denom, shift;
  {
    NoGrad no_grad;
    count = expanded_mask.defined() ? ops::sum(expanded_mask.to(f64), reduce_axes, true)
                                    : Tensor::full(stat_shape, group_size, f64);
    if (rc) all_reduce_in_place(rc, count);
    // With a mask Keras divides the sums by count + 1e-7 (backend.epsilon(), docs/semantics.md §1.9), which
    // also makes a count of 0 give mean 0 and variance 0. Without one it divides by the count.
    denom = expanded_mask.defined() ? count + keras_epsilon : ops::maximum(count, Tensor::ones({}, f64));
    // Shift by one value of each group (rank 0's under synchronization), so a constant group gives
    // exactly zero deviations.
    if (group_size > 0) {
      Tensor first = xs;
      for (std::int64_t a : reduce_axes) first = first.narrow(a, 0, 1);
      shift = first.to(f64).clone();
    } else {
      shift = Tensor::zeros(stat_shape, f64);
    }
    if (rc) {
      if (rc->rank() != 0) shift.fill(0);
      all_reduce_in_place(rc, shift);
    }
    shift = ops::where(ops::greater(count, Tensor::zeros({}, f64)), shift, Tensor::zeros(stat_shape, f64));
  }
  Tensor xd = ops::cast(xs, f64) - shift;
  // Masked positions are left out with where (not a product), so a NaN there cannot leak in.
  auto masked = [&](const Tensor& t) {
    return expanded_mask.defined() ? ops::where(expanded_mask, t, Tensor::zeros(t.shape(), f64)) : t;
  };
  Tensor sum_x = ops::sum(masked(xd), reduce_axes, true);
  // Keras's mean is Σx / denom; relative to the shift that is (Σ(x − shift) − (denom − count)·shift) / denom.
  Tensor shifted_mean = all_reduce_sum(sum_x, rc) / denom;
  if (expanded_mask.defined()) shifted_mean = shifted_mean - shift * (keras_epsilon / denom);
  Tensor dev = xd - shifted_mean;
  Tensor sq = ops::square(dev);
  Tensor var = all_reduce_sum(ops::sum(masked(sq), reduce_axes, true), rc) / denom;
  Tensor xhat = dev * safe_rsqrt(var + o.epsilon);

  BatchNormTraining out;
  {
    NoGrad no_grad;
    out.stats = average_over_ghosts(shifted_mean + shift, var, count, ghosts);
  }
  if (o.renorm) {
    RenormCorrection rd = renorm_correction(out.stats.mean, out.stats.var, state, o);
    xhat = xhat * Tensor::from_vector(rd.r, bshape, f64) + Tensor::from_vector(rd.d, bshape, f64);
  }
  if (o.adjustment) {
    auto [adj_scale, adj_bias] = o.adjustment(x.shape());
    xhat = xhat * adjustment_term(adj_scale, bshape, channels, "scale", error_context) +
           adjustment_term(adj_bias, bshape, channels, "bias", error_context);
  }
  Tensor y = xhat;
  if (state.gamma.defined()) y = y * as_channels(state.gamma, bshape);
  if (state.beta.defined()) y = y + as_channels(state.beta, bshape);
  y = ops::cast(y, x.dtype());
  out.output = o.virtual_batch_size ? ops::reshape(y, x.shape()) : y;
  return out;
}

Tensor batch_norm_inference_composed(const Tensor& x, const std::vector<std::int64_t>& axes,
                                     const BatchNormWeights<Tensor>& state, double epsilon) {
  const Shape bshape = broadcast_shape(x.dim(), axes, batch_norm_param_shape(x.shape(), axes));
  Tensor invstd;
  {
    NoGrad no_grad;
    invstd = safe_rsqrt(as_channels(state.moving_variance, bshape) + epsilon);
  }
  Tensor y = (ops::cast(x, f64) - as_channels(state.moving_mean, bshape)) * invstd;
  if (state.gamma.defined()) y = y * as_channels(state.gamma, bshape);
  if (state.beta.defined()) y = y + as_channels(state.beta, bshape);
  return ops::cast(y, x.dtype());
}

}  // namespace keel::layers::detail
