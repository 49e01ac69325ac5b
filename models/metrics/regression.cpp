// Regression metrics: per sample, the mean of an elementwise error.
#include <cmath>

#include "keel/models/metrics.h"
#include "keel/models/metrics/detail/samples.h"

namespace keel::metrics {

MeanSquaredError::MeanSquaredError(NameOption options)
    : MeanMetricWrapper(detail::or_default(std::move(options.name), "mean_squared_error")) {}

std::vector<double> MeanSquaredError::sample_values(const Tensor& y_true, const Tensor& y_pred) const {
  return detail::mean_over_rows(y_true, y_pred, class_name(), [](const double* t, const double* p, std::int64_t width) {
    double sum = 0;
    for (std::int64_t j = 0; j < width; ++j) sum += (p[j] - t[j]) * (p[j] - t[j]);
    return width == 0 ? 0.0 : sum / static_cast<double>(width);
  });
}

MeanAbsoluteError::MeanAbsoluteError(NameOption options)
    : MeanMetricWrapper(detail::or_default(std::move(options.name), "mean_absolute_error")) {}

std::vector<double> MeanAbsoluteError::sample_values(const Tensor& y_true, const Tensor& y_pred) const {
  return detail::mean_over_rows(y_true, y_pred, class_name(), [](const double* t, const double* p, std::int64_t width) {
    double sum = 0;
    for (std::int64_t j = 0; j < width; ++j) sum += std::abs(p[j] - t[j]);
    return width == 0 ? 0.0 : sum / static_cast<double>(width);
  });
}

}  // namespace keel::metrics
