#include "keel/models/detail/targets.h"

#include <fmt/format.h>

#include <cmath>

#include "keel/autograd/ops.h"
#include "keel/core/error.h"

namespace keel::models::detail {

std::pair<Tensor, Tensor> aligned_targets(const Tensor& y_true, const Tensor& y_pred, std::string_view op) {
  require_floating(y_pred, op, "y_pred");
  if (!y_true.defined()) throw ValueError(fmt::format("{}: y_true is undefined", op));
  Tensor t = target_like(y_true, y_pred), p = y_pred;
  auto equalize = [](Tensor& longer, Tensor& shorter) {
    if (longer.dim() != shorter.dim() + 1 || longer.shape().back() != 1) return;
    if (shorter.dim() == 1)
      shorter = ops::unsqueeze(shorter, -1);
    else
      longer = ops::squeeze(longer, -1);
  };
  if (t.dim() > p.dim())
    equalize(t, p);
  else if (p.dim() > t.dim())
    equalize(p, t);
  if (t.dim() == 1 && p.dim() == 1) {
    t = ops::unsqueeze(t, -1);
    p = ops::unsqueeze(p, -1);
  }
  if (t.shape() != p.shape() || t.dim() == 0)
    throw ShapeError(fmt::format("{}: target and output must have the same shape, got target (y_true) shape {} and "
                                 "output (y_pred) shape {}",
                                 op, to_string(y_true.shape()), to_string(y_pred.shape())));
  return {t, p};
}

std::int64_t sparse_label_count(const Shape& y_true_shape, const Shape& y_pred_shape, std::string_view op) {
  if (y_pred_shape.empty())
    throw ShapeError(fmt::format("{}: output (y_pred) must have a class axis, got shape {}", op,
                                 to_string(y_pred_shape)));
  const Shape batch(y_pred_shape.begin(), y_pred_shape.end() - 1);
  Shape with_one = batch;
  with_one.push_back(1);
  if (y_true_shape != batch && y_true_shape != with_one)
    throw ShapeError(fmt::format("{}: sparse labels (y_true) must have shape {} or {} for output (y_pred) shape {}, "
                                 "got {}",
                                 op, to_string(batch), to_string(with_one), to_string(y_pred_shape),
                                 to_string(y_true_shape)));
  std::int64_t count = 1;
  for (std::int64_t d : batch) count *= d;
  return count;
}

Tensor sparse_labels(const Tensor& y_true, std::int64_t classes, std::string_view op) {
  const std::int64_t n = y_true.numel();
  Tensor labels;
  if (y_true.dtype() == DType::int64) {
    labels = y_true.contiguous().reshape({n});
  } else if (is_floating(y_true.dtype())) {
    Tensor values = y_true.to(DType::float64);
    const double* v = values.data<double>();
    labels = Tensor::empty({n}, DType::int64);
    std::int64_t* out = labels.data<std::int64_t>();
    for (std::int64_t i = 0; i < n; ++i) {
      if (!(v[i] == std::floor(v[i])) || std::abs(v[i]) > 9.0e15)
        throw ValueError(fmt::format("{}: sparse labels must be integers, got {} in row {}", op, v[i], i));
      out[i] = static_cast<std::int64_t>(v[i]);
    }
  } else {
    throw ValueError(fmt::format("{}: sparse labels must be int64 or float integers, got {}", op,
                                 dtype_name(y_true.dtype())));
  }
  const std::int64_t* l = labels.data<std::int64_t>();
  for (std::int64_t i = 0; i < n; ++i)
    if (l[i] < 0 || l[i] >= classes)
      throw IndexError(fmt::format("{}: label {} in row {} is outside [0, {})", op, l[i], i, classes));
  return labels;
}

std::vector<double> per_sample_weights(const Tensor& sample_weight, std::int64_t samples, std::string_view op) {
  if (!sample_weight.defined()) return {};
  const Shape& s = sample_weight.shape();
  const bool scalar = s.empty() || (s.size() == 1 && s[0] == 1 && samples != 1);
  const bool per_sample = (s.size() == 1 && s[0] == samples) || (s.size() == 2 && s[0] == samples && s[1] == 1);
  if (!scalar && !per_sample)
    throw ShapeError(fmt::format("{}: sample_weight must be a scalar or have shape [{}] or [{}, 1], got {}", op,
                                 samples, samples, to_string(s)));
  std::vector<double> w = sample_weight.to_vector();
  if (scalar) w.assign(static_cast<std::size_t>(samples), w.empty() ? 1.0 : w[0]);
  return w;
}

Tensor target_like(const Tensor& y_true, const Tensor& y_pred) {
  if (y_true.dtype() == y_pred.dtype()) return y_true;
  return is_floating(y_true.dtype()) ? ops::cast(y_true, y_pred.dtype()) : y_true.to(y_pred.dtype());
}

void require_floating(const Tensor& t, std::string_view op, std::string_view argument) {
  if (!t.defined()) throw ValueError(fmt::format("{}: {} is undefined", op, argument));
  if (!is_floating(t.dtype()))
    throw ValueError(fmt::format("{}: {} must be float32 or float64, got {}", op, argument, dtype_name(t.dtype())));
}

}  // namespace keel::models::detail
