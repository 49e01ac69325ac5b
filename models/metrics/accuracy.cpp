// Accuracy metrics (Keras 3's accuracy_metrics.py), computed on float64 copies of the batch.
#include <fmt/format.h>

#include <cmath>

#include "keel/core/error.h"
#include "keel/models/detail/targets.h"
#include "keel/models/metrics.h"
#include "keel/models/metrics/detail/samples.h"

namespace keel::metrics {
namespace {

std::int64_t checked_k(std::int64_t k, const char* op) {
  if (k < 1) throw ValueError(fmt::format("{}: k must be >= 1, got {}", op, k));
  return k;
}

// Per sample, the fraction of sparse labels for which `hit(scores, classes, label)` holds.
template <class Hit>
std::vector<double> sparse_hits(const Tensor& y_true, const Tensor& y_pred, const char* op, Hit hit) {
  const std::int64_t labels = models::detail::sparse_label_count(y_true.shape(), y_pred.shape(), op);
  const std::int64_t classes = y_pred.shape().back();
  const double* l = y_true.data<double>();
  const double* p = y_pred.data<double>();
  std::vector<double> hits(static_cast<std::size_t>(labels));
  for (std::int64_t i = 0; i < labels; ++i) hits[static_cast<std::size_t>(i)] = hit(p + i * classes, classes, l[i]);
  return detail::mean_per_sample(hits, detail::sample_count(y_pred.shape(), true), op);
}

// A sparse label as a class index, or −1 when it is not an integer in [0, classes).
std::int64_t class_index(double label, std::int64_t classes) {
  if (!(label >= 0 && label < static_cast<double>(classes)) || label != std::floor(label)) return -1;
  return static_cast<std::int64_t>(label);
}

}  // namespace

SparseCategoricalAccuracy::SparseCategoricalAccuracy(NameOption options)
    : MeanMetricWrapper(detail::or_default(std::move(options.name), "sparse_categorical_accuracy")) {}

std::vector<double> SparseCategoricalAccuracy::sample_values(const Tensor& y_true, const Tensor& y_pred) const {
  return sparse_hits(y_true, y_pred, class_name(), [](const double* scores, std::int64_t classes, double label) {
    return classes > 0 && label == static_cast<double>(detail::argmax(scores, classes)) ? 1.0 : 0.0;
  });
}

CategoricalAccuracy::CategoricalAccuracy(NameOption options)
    : MeanMetricWrapper(detail::or_default(std::move(options.name), "categorical_accuracy")) {}

std::vector<double> CategoricalAccuracy::sample_values(const Tensor& y_true, const Tensor& y_pred) const {
  return detail::mean_over_rows(y_true, y_pred, class_name(), [](const double* t, const double* p, std::int64_t width) {
    return detail::argmax(t, width) == detail::argmax(p, width) ? 1.0 : 0.0;
  });
}

BinaryAccuracy::BinaryAccuracy(BinaryAccuracyOptions options)
    : MeanMetricWrapper(detail::or_default(std::move(options.name), "binary_accuracy")), threshold_(options.threshold) {
  if (!(threshold_ > 0 && threshold_ < 1))
    throw ValueError(fmt::format("BinaryAccuracy: threshold must be in (0, 1), got {}", threshold_));
}

std::vector<double> BinaryAccuracy::sample_values(const Tensor& y_true, const Tensor& y_pred) const {
  const double threshold = threshold_;
  return detail::mean_over_rows(y_true, y_pred, class_name(), [threshold](const double* t, const double* p, std::int64_t width) {
    double hits = 0;
    for (std::int64_t j = 0; j < width; ++j) hits += t[j] == (p[j] > threshold ? 1.0 : 0.0) ? 1.0 : 0.0;
    return width == 0 ? 0.0 : hits / static_cast<double>(width);
  });
}

nlohmann::json BinaryAccuracy::get_config() const {
  nlohmann::json config = Metric::get_config();
  config["threshold"] = threshold_;
  return config;
}

TopKCategoricalAccuracy::TopKCategoricalAccuracy(TopKOptions options)
    : MeanMetricWrapper(detail::or_default(std::move(options.name), "top_k_categorical_accuracy")),
      k_(checked_k(options.k, "TopKCategoricalAccuracy")) {}

std::vector<double> TopKCategoricalAccuracy::sample_values(const Tensor& y_true, const Tensor& y_pred) const {
  const std::int64_t k = k_;
  return detail::mean_over_rows(y_true, y_pred, class_name(), [k](const double* t, const double* p, std::int64_t width) {
    return width > 0 && detail::in_top_k(p, width, detail::argmax(t, width), k) ? 1.0 : 0.0;
  });
}

nlohmann::json TopKCategoricalAccuracy::get_config() const {
  nlohmann::json config = Metric::get_config();
  config["k"] = k_;
  return config;
}

SparseTopKCategoricalAccuracy::SparseTopKCategoricalAccuracy(TopKOptions options)
    : MeanMetricWrapper(detail::or_default(std::move(options.name), "sparse_top_k_categorical_accuracy")),
      k_(checked_k(options.k, "SparseTopKCategoricalAccuracy")) {}

std::vector<double> SparseTopKCategoricalAccuracy::sample_values(const Tensor& y_true, const Tensor& y_pred) const {
  const std::int64_t k = k_;
  return sparse_hits(y_true, y_pred, class_name(), [k](const double* scores, std::int64_t classes, double label) {
    const std::int64_t target = class_index(label, classes);
    return target >= 0 && detail::in_top_k(scores, classes, target, k) ? 1.0 : 0.0;
  });
}

nlohmann::json SparseTopKCategoricalAccuracy::get_config() const {
  nlohmann::json config = Metric::get_config();
  config["k"] = k_;
  return config;
}

}  // namespace keel::metrics
