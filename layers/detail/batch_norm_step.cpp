#include "keel/layers/detail/batch_norm_step.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "keel/autograd/grad_mode.h"
#include "keel/core/error.h"
#include "keel/core/log.h"
#include "keel/core/replica_context.h"

namespace keel::layers::detail {
namespace {

// moving · momentum + batch · (1 − momentum) where the channel had data; unchanged elsewhere.
std::vector<double> moving_average(const Tensor& moving, const std::vector<double>& batch, double momentum,
                                   const std::vector<char>& has_data) {
  std::vector<double> v = moving.to_vector();
  for (std::size_t c = 0; c < v.size(); ++c)
    if (has_data[c]) v[c] = v[c] * momentum + batch[c] * (1.0 - momentum);
  return v;
}

// `values` as a tensor of `weight`'s shape and dtype.
Tensor as_weight_tensor(const std::vector<double>& values, const Tensor& weight) {
  return Tensor::from_vector(values, weight.shape(), weight.dtype());
}

BatchNormWeights<Tensor> moving_updates(const BatchStatistics& s, const BatchNormWeights<Tensor>& state,
                                        const BatchNormalizationOptions& o) {
  BatchNormWeights<Tensor> u;
  if (!o.renorm) {
    u.moving_mean =
        as_weight_tensor(moving_average(state.moving_mean, s.mean, o.momentum, s.has_data), state.moving_mean);
    u.moving_variance =
        as_weight_tensor(moving_average(state.moving_variance, s.var, o.momentum, s.has_data), state.moving_variance);
    return u;
  }
  std::vector<double> sigma(s.var.size());
  for (std::size_t c = 0; c < sigma.size(); ++c) sigma[c] = std::sqrt(s.var[c] + o.epsilon);
  u.renorm_mean =
      as_weight_tensor(moving_average(state.renorm_mean, s.mean, o.renorm_momentum, s.has_data), state.renorm_mean);
  u.renorm_stddev =
      as_weight_tensor(moving_average(state.renorm_stddev, sigma, o.renorm_momentum, s.has_data), state.renorm_stddev);
  u.moving_mean =
      as_weight_tensor(moving_average(state.moving_mean, s.mean, o.momentum, s.has_data), state.moving_mean);
  u.moving_stddev =
      as_weight_tensor(moving_average(state.moving_stddev, sigma, o.momentum, s.has_data), state.moving_stddev);
  // moving_variance is derived from the stored (rounded) moving_stddev, as the weights will hold it.
  std::vector<double> variance = u.moving_stddev.to_vector(), old_variance = state.moving_variance.to_vector();
  for (std::size_t c = 0; c < variance.size(); ++c)
    variance[c] = s.has_data[c] ? std::max(variance[c] * variance[c] - o.epsilon, 0.0) : old_variance[c];
  u.moving_variance = as_weight_tensor(variance, state.moving_variance);
  return u;
}

void check_state(const Tensor& x, const BatchNormWeights<Tensor>& state, const BatchNormalizationOptions& o,
                 const std::vector<std::int64_t>& axes, const std::string& error_context) {
  const Shape shape = batch_norm_param_shape(x.shape(), axes);
  auto check = [&](const Tensor& t, const char* what, bool required) {
    if (!t.defined()) {
      if (required) throw ValueError(fmt::format("{}: the state has no {}", error_context, what));
      return;
    }
    if (t.dtype() != x.dtype())
      throw ValueError(fmt::format("{}: {} is {} but the input is {}", error_context, what, dtype_name(t.dtype()),
                                   dtype_name(x.dtype())));
    if (t.shape() != shape)
      throw ShapeError(fmt::format("{}: {} has shape {}, but the input {} needs {}", error_context, what,
                                   to_string(t.shape()), to_string(x.shape()), to_string(shape)));
  };
  check(state.gamma, "gamma", false);
  check(state.beta, "beta", false);
  check(state.moving_mean, "moving_mean", true);
  check(state.moving_variance, "moving_variance", true);
  check(state.moving_stddev, "moving_stddev", o.renorm);
  check(state.renorm_mean, "renorm_mean", o.renorm);
  check(state.renorm_stddev, "renorm_stddev", o.renorm);
}

}  // namespace

Tensor batch_norm_expanded_mask(const Tensor& mask, const Tensor& x, const std::string& error_context) {
  if (mask.dtype() != DType::boolean)
    throw ValueError(fmt::format("{}: the mask must be boolean, got {}", error_context, dtype_name(mask.dtype())));
  if (mask.dim() != x.dim() - 1)
    throw ShapeError(
        fmt::format("{}: the mask must have rank {} (the input's rank minus one), got shape {} for input {}",
                    error_context, x.dim() - 1, to_string(mask.shape()), to_string(x.shape())));
  const Shape lead(x.shape().begin(), x.shape().end() - 1);
  if (broadcast_shapes(mask.shape(), lead, error_context.c_str()) != lead)
    throw ShapeError(fmt::format("{}: mask shape {} does not broadcast to the input's leading shape {}", error_context,
                                 to_string(mask.shape()), to_string(lead)));
  return mask.unsqueeze(-1).expand(x.shape()).contiguous();
}

RenormCorrection renorm_correction(const std::vector<double>& mean, const std::vector<double>& var,
                                   const BatchNormWeights<Tensor>& state, const BatchNormalizationOptions& o) {
  std::vector<double> renorm_mean = state.renorm_mean.to_vector(), renorm_stddev = state.renorm_stddev.to_vector();
  const RenormClipping& clip = o.renorm_clipping;
  RenormCorrection rd{std::vector<double>(mean.size()), std::vector<double>(mean.size())};
  for (std::size_t c = 0; c < mean.size(); ++c) {
    double s = std::max(renorm_stddev[c], std::sqrt(o.epsilon));
    double r = std::sqrt(var[c] + o.epsilon) / s, d = (mean[c] - renorm_mean[c]) / s;
    if (clip.rmin) r = std::max(r, *clip.rmin);
    if (clip.rmax) r = std::min(r, *clip.rmax);
    if (clip.dmax) d = std::clamp(d, -*clip.dmax, *clip.dmax);
    rd.r[c] = r;
    rd.d[c] = d;
  }
  return rd;
}

ReplicaContext* batch_norm_sync_group(const BatchNormalizationOptions& o) {
  ReplicaContext* rc = o.synchronized ? current_replica_context() : nullptr;
  return rc && rc->num_replicas() > 1 ? rc : nullptr;
}

bool batch_norm_fast_path_applies(const Tensor& mask, const BatchNormalizationOptions& o,
                                  const std::vector<std::int64_t>& axes) {
  return axes.size() == 1 && !mask.defined() && !o.virtual_batch_size && !o.adjustment;
}

BatchNormResult batch_norm_step(const Tensor& x, const Tensor& mask, const BatchNormWeights<Tensor>& state,
                                const BatchNormalizationOptions& o, const std::vector<std::int64_t>& axes,
                                bool training, const std::string& error_context, bool& warned_one_value) {
  check_state(x, state, o, axes, error_context);
  if (mask.defined()) batch_norm_expanded_mask(mask, x, error_context);
  BatchNormResult result;
  if (!training) {
    result.output = axes.size() == 1 ? batch_norm_inference_fast(x, axes[0], state, o.epsilon)
                                     : batch_norm_inference_composed(x, axes, state, o.epsilon);
    return result;
  }
  BatchNormTraining t = batch_norm_fast_path_applies(mask, o, axes)
                            ? batch_norm_training_fast(x, axes[0], state, o)
                            : batch_norm_training_composed(x, mask, axes, state, o, error_context);
  result.output = t.output;
  if (t.stats.one_value_per_channel && !warned_one_value) {
    warned_one_value = true;
    log::warn(fmt::format("{}: one value per channel in training mode; its output is beta", error_context));
  }
  NoGrad no_grad;
  result.updated = moving_updates(t.stats, state, o);
  return result;
}

}  // namespace keel::layers::detail
