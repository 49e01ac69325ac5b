// The metric bases: Metric, WeightedMean, Mean and MeanMetricWrapper, and the per-sample helpers.
#include <fmt/format.h>

#include <cmath>

#include "keel/autograd/grad_mode.h"
#include "keel/core/error.h"
#include "keel/models/detail/targets.h"
#include "keel/models/metrics.h"
#include "keel/models/metrics/detail/samples.h"

namespace keel::metrics {

namespace detail {

AlignedTargets align(const Tensor& y_true, const Tensor& y_pred, std::string_view op) {
  auto [t, p] = models::detail::aligned_targets(y_true, y_pred, op);
  AlignedTargets a{t.contiguous(), p.contiguous()};
  a.samples = a.output.shape()[0];
  a.width = a.output.shape().back();
  a.rows = a.width == 0 ? 0 : a.output.numel() / a.width;
  return a;
}

std::int64_t sample_count(const Shape& y_pred_shape, bool has_class_axis) {
  const std::size_t batch_rank = y_pred_shape.size() - (has_class_axis && !y_pred_shape.empty() ? 1 : 0);
  return batch_rank == 0 ? 1 : y_pred_shape[0];
}

std::vector<double> mean_per_sample(const std::vector<double>& values, std::int64_t samples, std::string_view op) {
  const auto count = static_cast<std::int64_t>(values.size());
  if (samples == 0) return {};
  if (count % samples != 0)
    throw ShapeError(fmt::format("{}: {} values do not split into {} samples", op, count, samples));
  const std::int64_t group = count / samples;
  std::vector<double> means(static_cast<std::size_t>(samples), 0.0);
  if (group == 0) return means;
  for (std::int64_t s = 0; s < samples; ++s) {
    double sum = 0;
    for (std::int64_t i = s * group; i < (s + 1) * group; ++i) sum += values[static_cast<std::size_t>(i)];
    means[static_cast<std::size_t>(s)] = sum / static_cast<double>(group);
  }
  return means;
}

std::int64_t argmax(const double* row, std::int64_t n) {
  std::int64_t best = 0;
  for (std::int64_t j = 0; j < n; ++j) {
    if (std::isnan(row[j])) return j;
    if (row[j] > row[best]) best = j;
  }
  return best;
}

bool in_top_k(const double* row, std::int64_t n, std::int64_t target, std::int64_t k) {
  const double score = row[target];
  if (!std::isfinite(score)) return false;
  std::int64_t higher = 0;
  for (std::int64_t j = 0; j < n; ++j) higher += row[j] > score ? 1 : 0;
  return higher < k;
}

}  // namespace detail

nlohmann::json Metric::get_config() const { return {{"name", name_}}; }

void WeightedMean::add(const std::vector<double>& values, const std::vector<double>& weights) {
  for (std::size_t i = 0; i < values.size(); ++i) {
    const double w = weights.empty() ? 1.0 : weights[i];
    total += w * values[i];
    count += w;
  }
}

void Mean::update(const Tensor& values, const Tensor& sample_weight) {
  NoGrad no_grad;
  if (!values.defined()) throw ValueError(fmt::format("Mean '{}': values are undefined", name()));
  const std::int64_t samples = detail::sample_count(values.shape(), false);
  std::vector<double> per_sample = values.dim() == 0 ? values.to_vector()
                                                     : detail::mean_per_sample(values.to_vector(), samples, name());
  mean_.add(per_sample, models::detail::per_sample_weights(sample_weight, samples, name()));
}

void Mean::update(double value, double weight) { mean_.add({value}, {weight}); }

void Mean::update_state(const Tensor&, const Tensor&, const Tensor&) {
  throw UsageError(fmt::format("Mean '{}': a Mean averages values and has no targets; call update(values, "
                               "sample_weight) instead of update_state(y_true, y_pred)",
                               name()));
}

void MeanMetricWrapper::update_state(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight) {
  NoGrad no_grad;
  if (!y_true.defined() || !y_pred.defined())
    throw ValueError(fmt::format("{}: y_true and y_pred must be defined", class_name()));
  std::vector<double> values = sample_values(y_true.to(DType::float64), y_pred.to(DType::float64));
  mean_.add(values, models::detail::per_sample_weights(sample_weight, static_cast<std::int64_t>(values.size()),
                                                       class_name()));
}

}  // namespace keel::metrics
