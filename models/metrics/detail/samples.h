#pragma once
// Internal to models/metrics: per-sample bookkeeping shared by the metrics.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "keel/core/tensor.h"

namespace keel::metrics::detail {

// y_true and y_pred (float64, contiguous) lined up as the losses do (models/detail/targets.h), seen as
// rows of the last axis.
struct AlignedTargets {
  Tensor target, output;
  std::int64_t samples = 0;  // first axis
  std::int64_t width = 0;    // last axis
  std::int64_t rows = 0;     // numel / width
  const double* t() const { return target.data<double>(); }
  const double* p() const { return output.data<double>(); }
};
AlignedTargets align(const Tensor& y_true, const Tensor& y_pred, std::string_view op);

// Number of samples in a batch: the first axis, or 1 for a rank-0 or rank-1 prediction of one sample.
std::int64_t sample_count(const Shape& y_pred_shape, bool has_class_axis);

// Mean of consecutive equal-size groups of `values`, one group per sample. `op` names the metric when
// the values do not split evenly (ShapeError).
std::vector<double> mean_per_sample(const std::vector<double>& values, std::int64_t samples, std::string_view op);

// Index of the first maximum of row[0, n); NaN counts as the maximum (the first NaN wins).
std::int64_t argmax(const double* row, std::int64_t n);

// Whether row[target] is among the k largest of row[0, n): fewer than k entries are strictly larger,
// and row[target] is finite.
bool in_top_k(const double* row, std::int64_t n, std::int64_t target, std::int64_t k);

// Per sample, the mean over its rows of `hit(target_row, output_row, width)` on aligned targets.
template <class Hit>
std::vector<double> mean_over_rows(const Tensor& y_true, const Tensor& y_pred, const char* op, Hit hit) {
  AlignedTargets a = align(y_true, y_pred, op);
  std::vector<double> hits(static_cast<std::size_t>(a.rows));
  for (std::int64_t r = 0; r < a.rows; ++r)
    hits[static_cast<std::size_t>(r)] = hit(a.t() + r * a.width, a.p() + r * a.width, a.width);
  return mean_per_sample(hits, a.samples, op);
}

// `name` unless empty, else the metric's Keras name.
inline std::string or_default(std::string name, const char* fallback) { return name.empty() ? fallback : name; }

}  // namespace keel::metrics::detail
