// Confusion-matrix metrics: Precision and Recall at one threshold, and Keras 3's ROC AUC
// (keras/src/metrics/confusion_metrics.py AUC, metrics_utils._update_confusion_matrix_variables_optimized).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "keel/autograd/grad_mode.h"
#include "keel/core/error.h"
#include "keel/models/detail/targets.h"
#include "keel/models/metrics.h"
#include "keel/models/metrics/detail/samples.h"

namespace keel::metrics {
namespace {

constexpr double kEpsilon = 1e-7;  // Keras's backend.epsilon(): the AUC's endpoint margin

// Calls visit(is_positive, prediction, weight) for every element of the batch, each sample's weight
// covering all of its elements.
template <class Visit>
void for_each_element(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight, const char* op,
                      Visit visit) {
  NoGrad no_grad;
  if (!y_true.defined()) throw ValueError(fmt::format("{}: y_true is undefined", op));
  models::detail::require_floating(y_pred, op, "y_pred");
  detail::AlignedTargets a = detail::align(y_true.to(DType::float64), y_pred.to(DType::float64), op);
  const std::vector<double> weights = models::detail::per_sample_weights(sample_weight, a.samples, op);
  const std::int64_t per_sample = a.samples == 0 ? 0 : a.output.numel() / a.samples;
  const double* t = a.t();
  const double* p = a.p();
  for (std::int64_t s = 0; s < a.samples; ++s) {
    const double w = weights.empty() ? 1.0 : weights[static_cast<std::size_t>(s)];
    for (std::int64_t i = s * per_sample; i < (s + 1) * per_sample; ++i) visit(t[i] != 0, p[i], w);
  }
}

double divide_no_nan(double a, double b) { return b == 0 ? 0.0 : a / b; }

}  // namespace

ConfusionAtThreshold::ConfusionAtThreshold(std::string name, double threshold)
    : Metric(std::move(name)), threshold_(threshold) {
  if (!(threshold_ >= 0 && threshold_ <= 1))
    throw ValueError(fmt::format("{}: thresholds must be in [0, 1], got {}", this->name(), threshold_));
}

void ConfusionAtThreshold::update_state(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight) {
  double tp = 0, fp = 0, fn = 0;
  const double threshold = threshold_;
  for_each_element(y_true, y_pred, sample_weight, class_name(), [&](bool positive, double p, double w) {
    const bool predicted = p > threshold;
    tp += positive && predicted ? w : 0.0;
    fp += !positive && predicted ? w : 0.0;
    fn += positive && !predicted ? w : 0.0;
  });
  true_positives_ += tp;
  false_positives_ += fp;
  false_negatives_ += fn;
}

nlohmann::json ConfusionAtThreshold::get_config() const {
  nlohmann::json config = Metric::get_config();
  config["thresholds"] = threshold_;
  return config;
}

Precision::Precision(ThresholdOptions options)
    : ConfusionAtThreshold(detail::or_default(std::move(options.name), "precision"), options.thresholds) {}

double Precision::result() const { return divide_no_nan(true_positives_, true_positives_ + false_positives_); }

Recall::Recall(ThresholdOptions options)
    : ConfusionAtThreshold(detail::or_default(std::move(options.name), "recall"), options.thresholds) {}

double Recall::result() const { return divide_no_nan(true_positives_, true_positives_ + false_negatives_); }

AUC::AUC(AUCOptions options)
    : Metric(detail::or_default(std::move(options.name), "auc")),
      num_thresholds_(options.num_thresholds),
      from_logits_(options.from_logits) {
  if (num_thresholds_ <= 1 || num_thresholds_ > (std::int64_t{1} << 24))
    throw ValueError(fmt::format("AUC: num_thresholds must be an integer in (1, 2^24], got {}", num_thresholds_));
  reset_state();
}

void AUC::reset_state() {
  positive_buckets_.assign(static_cast<std::size_t>(num_thresholds_), 0.0);
  negative_buckets_.assign(static_cast<std::size_t>(num_thresholds_), 0.0);
}

std::vector<double> AUC::thresholds() const {
  std::vector<double> t{0.0 - kEpsilon};
  for (std::int64_t i = 0; i + 2 < num_thresholds_; ++i)
    t.push_back(static_cast<double>(i + 1) / static_cast<double>(num_thresholds_ - 1));
  t.push_back(1.0 + kEpsilon);
  return t;
}

void AUC::update_state(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight) {
  // Bucket b holds predictions in (b/(T−1), (b+1)/(T−1)], with 0 in bucket 0: a prediction counts as
  // above threshold i exactly when its bucket is >= i.
  const bool single = y_pred.defined() && y_pred.dtype() == DType::float32;
  const double steps = static_cast<double>(num_thresholds_ - 1);
  const bool from_logits = from_logits_;
  std::vector<double> positives(positive_buckets_.size(), 0.0), negatives(negative_buckets_.size(), 0.0);
  for_each_element(y_true, y_pred, sample_weight, class_name(), [&](bool positive, double p, double w) {
    double scaled;
    if (single) {  // in float32, as Keras computes it for float32 predictions
      float v = static_cast<float>(p);
      if (from_logits) v = v >= 0 ? 1.0f / (1.0f + std::exp(-v)) : std::exp(v) / (1.0f + std::exp(v));
      scaled = static_cast<double>(std::clamp(v, 0.0f, 1.0f) * static_cast<float>(steps));
    } else {
      if (from_logits) p = p >= 0 ? 1.0 / (1.0 + std::exp(-p)) : std::exp(p) / (1.0 + std::exp(p));
      scaled = std::clamp(p, 0.0, 1.0) * steps;
    }
    const std::size_t bucket = std::isnan(scaled) ? 0 : static_cast<std::size_t>(std::max(std::ceil(scaled) - 1.0, 0.0));
    (positive ? positives : negatives)[bucket] += w;
  });
  for (std::size_t b = 0; b < positives.size(); ++b) {
    positive_buckets_[b] += positives[b];
    negative_buckets_[b] += negatives[b];
  }
}

double AUC::result() const {
  const std::size_t n = positive_buckets_.size();
  // Suffix sums: true and false positives at each threshold.
  std::vector<double> tp(n), fp(n);
  double tp_sum = 0, fp_sum = 0;
  for (std::size_t i = n; i-- > 0;) {
    tp_sum += positive_buckets_[i];
    fp_sum += negative_buckets_[i];
    tp[i] = tp_sum;
    fp[i] = fp_sum;
  }
  const double positives = tp_sum, negatives = fp_sum;  // tp + fn and fp + tn at every threshold
  double auc = 0;
  for (std::size_t i = 0; i + 1 < n; ++i) {
    const double fpr_drop = divide_no_nan(fp[i], negatives) - divide_no_nan(fp[i + 1], negatives);
    const double recall_mid = (divide_no_nan(tp[i], positives) + divide_no_nan(tp[i + 1], positives)) / 2;
    auc += fpr_drop * recall_mid;
  }
  return auc;
}

nlohmann::json AUC::get_config() const {
  nlohmann::json config = Metric::get_config();
  config["num_thresholds"] = num_thresholds_;
  config["from_logits"] = from_logits_;
  return config;
}

}  // namespace keel::metrics
