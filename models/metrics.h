#pragma once
// Keras's stateful metrics. update_state accumulates a batch (in double, without autograd), result()
// reads the value so far, reset_state() starts over. sample_weight is a scalar or one weight per
// sample ([N] or [N, 1]); a sample's weight covers every element of that sample.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "keel/core/tensor.h"

namespace keel::metrics {

class Metric {
 public:
  virtual ~Metric() = default;

  virtual void update_state(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight = Tensor()) = 0;
  virtual double result() const = 0;
  virtual void reset_state() = 0;

  const std::string& name() const { return name_; }
  void set_name(std::string name) { name_ = std::move(name); }
  // The Keras class name ("SparseCategoricalAccuracy"), the key from_config reads.
  virtual const char* class_name() const = 0;
  // {"name": ...} plus the metric's own options.
  virtual nlohmann::json get_config() const;

 protected:
  explicit Metric(std::string name) : name_(std::move(name)) {}

 private:
  std::string name_;
};

// Σ w·v and Σ w; the mean is 0 before anything was added (Keras's divide_no_nan).
struct WeightedMean {
  double total = 0;
  double count = 0;
  // One value per sample; `weights` empty (each 1) or one per value.
  void add(const std::vector<double>& values, const std::vector<double>& weights);
  double mean() const { return count == 0 ? 0.0 : total / count; }
};

// The weighted mean of values (Keras's Mean): each sample's value is the mean of its elements, weighted
// by its sample weight. Tracks the loss during fit.
class Mean : public Metric {
 public:
  explicit Mean(std::string name = "mean") : Metric(std::move(name)) {}
  // values [N, ...] with sample_weight as for every metric.
  void update(const Tensor& values, const Tensor& sample_weight = Tensor());
  void update(double value, double weight = 1.0);
  // A Mean has no targets: UsageError pointing to update().
  void update_state(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight = Tensor()) override;
  double result() const override { return mean_.mean(); }
  void reset_state() override { mean_ = {}; }
  const char* class_name() const override { return "Mean"; }

 private:
  WeightedMean mean_;
};

// Keras's MeanMetricWrapper: the weighted mean over samples of a per-sample value.
class MeanMetricWrapper : public Metric {
 public:
  void update_state(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight = Tensor()) final;
  double result() const final { return mean_.mean(); }
  void reset_state() final { mean_ = {}; }

 protected:
  using Metric::Metric;
  // One value per sample (y_pred's first axis), for float64 copies of the inputs.
  virtual std::vector<double> sample_values(const Tensor& y_true, const Tensor& y_pred) const = 0;

 private:
  WeightedMean mean_;
};

struct NameOption {
  std::string name = {};  // empty: the metric's Keras name
};

// Integer labels [...] or [..., 1] against scores [..., C]: label == argmax (first maximum). Labels
// outside [0, C) simply never match, as in Keras.
class SparseCategoricalAccuracy : public MeanMetricWrapper {
 public:
  explicit SparseCategoricalAccuracy(NameOption options = {});
  const char* class_name() const override { return "SparseCategoricalAccuracy"; }

 protected:
  std::vector<double> sample_values(const Tensor& y_true, const Tensor& y_pred) const override;
};

// One-hot (or probability) targets of y_pred's shape: argmax(y_true) == argmax(y_pred).
class CategoricalAccuracy : public MeanMetricWrapper {
 public:
  explicit CategoricalAccuracy(NameOption options = {});
  const char* class_name() const override { return "CategoricalAccuracy"; }

 protected:
  std::vector<double> sample_values(const Tensor& y_true, const Tensor& y_pred) const override;
};

struct BinaryAccuracyOptions {
  double threshold = 0.5;  // in (0, 1)
  std::string name = {};
};

// Elementwise y_true == (y_pred > threshold ? 1 : 0), averaged over each sample.
class BinaryAccuracy : public MeanMetricWrapper {
 public:
  explicit BinaryAccuracy(BinaryAccuracyOptions options = {});
  const char* class_name() const override { return "BinaryAccuracy"; }
  nlohmann::json get_config() const override;

 protected:
  std::vector<double> sample_values(const Tensor& y_true, const Tensor& y_pred) const override;

 private:
  double threshold_;
};

struct TopKOptions {
  std::int64_t k = 5;  // >= 1
  std::string name = {};
};

// The target class (argmax of one-hot y_true) is among the k highest scores: fewer than k classes score
// strictly higher (ties at the boundary count as in, as TensorFlow's in_top_k); a non-finite score never is.
class TopKCategoricalAccuracy : public MeanMetricWrapper {
 public:
  explicit TopKCategoricalAccuracy(TopKOptions options = {});
  const char* class_name() const override { return "TopKCategoricalAccuracy"; }
  nlohmann::json get_config() const override;

 protected:
  std::vector<double> sample_values(const Tensor& y_true, const Tensor& y_pred) const override;

 private:
  std::int64_t k_;
};

// TopKCategoricalAccuracy with integer labels, shaped as for SparseCategoricalAccuracy.
class SparseTopKCategoricalAccuracy : public MeanMetricWrapper {
 public:
  explicit SparseTopKCategoricalAccuracy(TopKOptions options = {});
  const char* class_name() const override { return "SparseTopKCategoricalAccuracy"; }
  nlohmann::json get_config() const override;

 protected:
  std::vector<double> sample_values(const Tensor& y_true, const Tensor& y_pred) const override;

 private:
  std::int64_t k_;
};

// Per sample, the mean of (y_pred − y_true)².
class MeanSquaredError : public MeanMetricWrapper {
 public:
  explicit MeanSquaredError(NameOption options = {});
  const char* class_name() const override { return "MeanSquaredError"; }

 protected:
  std::vector<double> sample_values(const Tensor& y_true, const Tensor& y_pred) const override;
};

// Per sample, the mean of |y_pred − y_true|.
class MeanAbsoluteError : public MeanMetricWrapper {
 public:
  explicit MeanAbsoluteError(NameOption options = {});
  const char* class_name() const override { return "MeanAbsoluteError"; }

 protected:
  std::vector<double> sample_values(const Tensor& y_true, const Tensor& y_pred) const override;
};

struct ThresholdOptions {
  double thresholds = 0.5;  // in [0, 1]
  std::string name = {};
};

// Weighted confusion counts at one threshold over every element (binary or multi-label): an element is
// predicted positive when y_pred > threshold, and is positive when y_true ≠ 0.
class ConfusionAtThreshold : public Metric {
 public:
  void update_state(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight = Tensor()) final;
  void reset_state() final { true_positives_ = false_positives_ = false_negatives_ = 0; }
  nlohmann::json get_config() const override;

 protected:
  ConfusionAtThreshold(std::string name, double threshold);
  double true_positives_ = 0, false_positives_ = 0, false_negatives_ = 0;

 private:
  double threshold_;
};

// tp / (tp + fp), 0 when nothing was predicted positive.
class Precision : public ConfusionAtThreshold {
 public:
  explicit Precision(ThresholdOptions options = {});
  double result() const override;
  const char* class_name() const override { return "Precision"; }
};

// tp / (tp + fn), 0 when nothing was positive.
class Recall : public ConfusionAtThreshold {
 public:
  explicit Recall(ThresholdOptions options = {});
  double result() const override;
  const char* class_name() const override { return "Recall"; }
};

struct AUCOptions {
  std::int64_t num_thresholds = 200;  // > 1
  bool from_logits = false;           // apply a sigmoid to y_pred first
  std::string name = {};
};

// Keras 3's AUC, curve ROC, summation "interpolation": thresholds −ε, 1/(T−1), …, (T−2)/(T−1), 1 + ε
// (ε = 1e-7); predictions are clipped to [0, 1] and counted positive at threshold i when their bucket
// max(ceil(p·(T−1)) − 1, 0) ≥ i (computed in y_pred's dtype, as Keras's evenly-spaced fast path does);
// labels are positive when ≠ 0; every element is one data point (multi_label false). The result is
// Σᵢ (fprᵢ − fprᵢ₊₁)·(tprᵢ + tprᵢ₊₁)/2 with rates that are 0 where their denominator is 0.
class AUC : public Metric {
 public:
  explicit AUC(AUCOptions options = {});
  void update_state(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight = Tensor()) override;
  double result() const override;
  void reset_state() override;
  const char* class_name() const override { return "AUC"; }
  nlohmann::json get_config() const override;
  // The thresholds in use, with the −ε and 1 + ε endpoints.
  std::vector<double> thresholds() const;

 private:
  std::int64_t num_thresholds_;
  bool from_logits_;
  // Weighted positives and negatives per bucket; the curve is their suffix sums.
  std::vector<double> positive_buckets_, negative_buckets_;
};

// Keras 3's rule for "accuracy"/"acc" (trainers/compile_utils.py): binary when y_pred's last axis is 1;
// else sparse categorical when y_true has lower rank than y_pred, or y_true's last axis is 1 while
// y_pred's is larger; else categorical. The metric is named `name`. ShapeError for rank-0 shapes.
std::shared_ptr<Metric> resolve_accuracy(const Shape& y_true_shape, const Shape& y_pred_shape,
                                         std::string name = "accuracy");

// A metric with default options from its Keras name, named by that string: "sparse_categorical_accuracy",
// "categorical_accuracy", "binary_accuracy", "top_k_categorical_accuracy",
// "sparse_top_k_categorical_accuracy", "precision", "recall", "auc", "mse"/"mean_squared_error",
// "mae"/"mean_absolute_error", or a class name. "accuracy"/"acc" need the shapes (the overload below);
// unknown names are a ValueError listing the known ones.
std::shared_ptr<Metric> get(std::string_view name);
// As get(name), resolving "accuracy"/"acc" from the shapes with resolve_accuracy.
std::shared_ptr<Metric> get(std::string_view name, const Shape& y_true_shape, const Shape& y_pred_shape);
// {"class_name": ..., "config": get_config()}.
nlohmann::json serialize(const Metric& metric);
// The inverse of serialize over a fixed allow-list; unknown classes or keys are a ValueError.
std::shared_ptr<Metric> from_config(const nlohmann::json& json);
// The names get() accepts (without shapes), sorted.
std::vector<std::string> known_names();

}  // namespace keel::metrics
