// Metrics against hand-computed values over several batches (Keras 3's docstring cases included).
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "keel/core/error.h"
#include "keel/core/random.h"
#include "keel/models/metrics.h"
#include "support/make_tensor.h"
#include "support/throws.h"

using Catch::Matchers::Contains;
using keel::DType;
using keel::Shape;
using keel::Tensor;
namespace metrics = keel::metrics;

using keel::test::f32;
using keel::test::f64;
using keel::test::i64;

namespace {


template <class M>
bool is(const std::shared_ptr<metrics::Metric>& m) {
  return dynamic_cast<M*>(m.get()) != nullptr;
}

// ROC AUC straight from its definition over Keras's thresholds: counts of predictions strictly above
// each threshold, then the trapezoid ("interpolation") sum over the false-positive rate.
double reference_auc(const std::vector<double>& y, const std::vector<double>& p, const std::vector<double>& w,
                     int num_thresholds) {
  std::vector<double> thresholds{-1e-7};
  for (int i = 1; i < num_thresholds - 1; ++i) thresholds.push_back(static_cast<double>(i) / (num_thresholds - 1));
  thresholds.push_back(1 + 1e-7);
  double positives = 0, negatives = 0;
  for (std::size_t j = 0; j < y.size(); ++j) (y[j] != 0 ? positives : negatives) += w[j];
  std::vector<double> tpr, fpr;
  for (double t : thresholds) {
    double tp = 0, fp = 0;
    for (std::size_t j = 0; j < y.size(); ++j)
      if (std::min(std::max(p[j], 0.0), 1.0) > t) (y[j] != 0 ? tp : fp) += w[j];
    tpr.push_back(positives > 0 ? tp / positives : 0);
    fpr.push_back(negatives > 0 ? fp / negatives : 0);
  }
  double auc = 0;
  for (std::size_t i = 0; i + 1 < thresholds.size(); ++i) auc += (fpr[i] - fpr[i + 1]) * (tpr[i] + tpr[i + 1]) / 2;
  return auc;
}

}  // namespace

TEST_CASE("Mean: weighted mean of values across updates, reset", "[metrics]") {
  metrics::Mean m;
  CHECK(m.result() == 0.0);
  m.update(f64({1, 3, 5, 7}, {4}));
  CHECK(m.result() == Approx(4.0));
  m.reset_state();
  m.update(f64({1, 3, 5, 7}, {4}), f64({1, 0, 1, 0}, {4}));
  CHECK(m.result() == Approx((1.0 + 5.0) / 2));
  // Loss-style updates: a batch mean weighted by the batch size. (1·2 + 3·(2+... )):
  m.reset_state();
  m.update(0.5, 32);
  m.update(0.25, 8);
  CHECK(m.result() == Approx((0.5 * 32 + 0.25 * 8) / 40));
  // [N, 2] values: each sample's value is its mean (1.5 and 5), then weighted 1 and 3.
  m.reset_state();
  m.update(f32({1, 2, 4, 6}, {2, 2}), f32({1, 3}, {2}));
  CHECK(m.result() == Approx((1.5 + 3 * 5.0) / 4));
  CHECK(m.name() == "mean");
  KEEL_CHECK_THROWS(m.update_state(f32({1}, {1}), f32({1}, {1})), keel::UsageError, Contains("update(values"));
}

TEST_CASE("SparseCategoricalAccuracy over several weighted batches", "[metrics]") {
  metrics::SparseCategoricalAccuracy m;
  Tensor p1 = f32({0.1, 0.6, 0.3, 0.05, 0.95, 0}, {2, 3});
  m.update_state(i64({2, 1}, {2, 1}), p1);
  CHECK(m.result() == Approx(0.5));
  m.reset_state();
  m.update_state(i64({2, 1}, {2, 1}), p1, f32({0.7, 0.3}, {2}));
  CHECK(m.result() == Approx(0.3));
  // Batch 2 (float labels, shape [3]): hit, miss (argmax 1 vs 2), miss (argmax 2 vs 1), weights 1, 2, 1.
  Tensor p2 = f32({0.9, 0.05, 0.05, 0.2, 0.5, 0.3, 0.3, 0.3, 0.4}, {3, 3});
  m.update_state(f32({0, 2, 1}, {3}), p2, f32({1, 2, 1}, {3}));
  CHECK(m.result() == Approx((0.3 + 1.0) / (1.0 + 4.0)));
  m.reset_state();
  CHECK(m.result() == 0.0);
  // Ties go to the first maximum; an out-of-range label never matches and does not throw.
  m.update_state(i64({0, 1, 5}, {3}), f32({0.5, 0.5, 0, 0.5, 0.5, 0, 0.2, 0.3, 0.5}, {3, 3}));
  CHECK(m.result() == Approx(1.0 / 3));
  // [N, T, C] scores with [N, T] labels: a sample's value is its fraction of hits (1/2 and 1).
  // Never the literal {1, 1, 0, 0} in this file: GCC 12.2's SLP vectorizer with AVX-512 (-march=native
  // here) builds std::vector<double>{1, 1, 0, 0} as {1, 1, 1, 1}.
  m.reset_state();
  m.update_state(i64({1, 0, 0, 0}, {2, 2}), f32({0, 1, 0, 1, 1, 0, 1, 0}, {2, 2, 2}));
  CHECK(m.result() == Approx((0.5 + 1.0) / 2));
}

TEST_CASE("CategoricalAccuracy, BinaryAccuracy and top-k accuracies", "[metrics]") {
  Tensor y = f32({0, 0, 1, 0, 1, 0}, {2, 3});
  Tensor p = f32({0.1, 0.9, 0.8, 0.05, 0.95, 0}, {2, 3});
  SECTION("categorical") {
    metrics::CategoricalAccuracy m;
    m.update_state(y, p);
    CHECK(m.result() == Approx(0.5));
    m.update_state(y, p, f32({0.7, 0.3}, {2}));  // adds 0.3 of 1.0
    CHECK(m.result() == Approx((1.0 + 0.3) / (2 + 1.0)));
  }
  SECTION("binary") {
    metrics::BinaryAccuracy m;
    // Keras's docstring case, reordered (see the note on {1, 1, 0, 0} above).
    Tensor yb = f32({1, 0, 1, 0}, {4, 1}), pb = f32({0.98, 0, 1, 0.6}, {4, 1});
    m.update_state(yb, pb);
    CHECK(m.result() == Approx(0.75));
    m.reset_state();
    m.update_state(yb, pb, f32({1, 0, 0, 1}, {4}));
    CHECK(m.result() == Approx(0.5));
    metrics::BinaryAccuracy strict({.threshold = 0.7});
    strict.update_state(f32({1, 0, 1, 0}, {4}), pb);  // [4] targets against [4, 1] outputs; 0.6 → 0 now
    CHECK(strict.result() == Approx(1.0));
    // Two labels per sample: sample 0 gets 1 of 2 right, sample 1 both; weights 3 and 1.
    metrics::BinaryAccuracy multi;
    multi.update_state(f32({1, 0, 0, 0}, {2, 2}), f32({0.6, 0.7, 0.2, 0.1}, {2, 2}), f32({3, 1}, {2}));
    CHECK(multi.result() == Approx((3 * 0.5 + 1 * 1.0) / 4));
  }
  SECTION("top-k") {
    metrics::TopKCategoricalAccuracy top1({.k = 1});
    top1.update_state(y, p, f32({0.7, 0.3}, {2}));
    CHECK(top1.result() == Approx(0.3));
    metrics::TopKCategoricalAccuracy top2({.k = 2});
    top2.update_state(y, p);
    CHECK(top2.result() == Approx(1.0));
    // Ties at the boundary count as in (in_top_k): three equal scores are all in the top 1.
    metrics::TopKCategoricalAccuracy tie({.k = 1});
    tie.update_state(f32({0, 0, 1}, {1, 3}), f32({0.5, 0.5, 0.5}, {1, 3}));
    CHECK(tie.result() == Approx(1.0));
    metrics::SparseTopKCategoricalAccuracy sparse1({.k = 1});
    sparse1.update_state(i64({2, 1}, {2}), p, f32({0.7, 0.3}, {2}));
    CHECK(sparse1.result() == Approx(0.3));
    metrics::SparseTopKCategoricalAccuracy sparse5;  // k = 5 covers all 3 classes; label 7 is never in
    sparse5.update_state(i64({2, 7}, {2}), p);
    CHECK(sparse5.result() == Approx(0.5));
  }
}

TEST_CASE("MeanSquaredError and MeanAbsoluteError metrics, weighted by sample", "[metrics]") {
  Tensor y = f64({0, 1, 0, 0}, {2, 2}), p = f64({1, 1, 2, 0}, {2, 2});  // errors 1, 0 | 2, 0
  metrics::MeanSquaredError mse;
  mse.update_state(y, p);
  CHECK(mse.result() == Approx((0.5 + 2.0) / 2));
  mse.update_state(y, p, f64({1, 3}, {2}));
  CHECK(mse.result() == Approx((0.5 + 2.0 + 0.5 + 3 * 2.0) / (2 + 4)));
  metrics::MeanAbsoluteError mae;
  mae.update_state(y, p);
  CHECK(mae.result() == Approx((0.5 + 1.0) / 2));
  CHECK(mse.name() == "mean_squared_error");
  CHECK(mae.name() == "mean_absolute_error");
}

TEST_CASE("Precision and Recall at a threshold across batches", "[metrics]") {
  metrics::Precision precision;
  metrics::Recall recall;
  CHECK(precision.result() == 0.0);
  // Keras's docstring case: tp 2, fp 1, fn 1.
  precision.update_state(f32({0, 1, 1, 1}, {4}), f32({1, 0, 1, 1}, {4}));
  recall.update_state(f32({0, 1, 1, 1}, {4}), f32({1, 0, 1, 1}, {4}));
  CHECK(precision.result() == Approx(2.0 / 3));
  CHECK(recall.result() == Approx(2.0 / 3));
  // Second batch, weighted: y 1 0 1 0, p 0.6 0.5 0.4 0.9 with weights 2 1 1 3: p > 0.5 strictly,
  // so tp += 2 (0.6), fn += 1 (0.4), fp += 3 (0.9); 0.5 is a true negative.
  Tensor y2 = f32({1, 0, 1, 0}, {4, 1}), p2 = f32({0.6, 0.5, 0.4, 0.9}, {4, 1}), w2 = f32({2, 1, 1, 3}, {4});
  precision.update_state(y2, p2, w2);
  recall.update_state(y2, p2, w2);
  CHECK(precision.result() == Approx((2.0 + 2) / (2.0 + 2 + 1 + 3)));
  CHECK(recall.result() == Approx((2.0 + 2) / (2.0 + 2 + 1 + 1)));
  precision.reset_state();
  CHECK(precision.result() == 0.0);
  // Multi-label rows at threshold 0.3: each element counts, weighted by its sample.
  metrics::Recall low({.thresholds = 0.3});
  low.update_state(f32({1, 1, 0, 1}, {2, 2}), f32({0.35, 0.2, 0.9, 0.31}, {2, 2}), f32({1, 4}, {2}));
  CHECK(low.result() == Approx((1.0 + 4.0) / (1.0 + 1.0 + 4.0)));
}

TEST_CASE("AUC follows Keras 3's bucketed ROC with trapezoids", "[metrics]") {
  SECTION("Keras's docstring case: 3 thresholds") {
    metrics::AUC auc({.num_thresholds = 3});
    CHECK(auc.thresholds() == std::vector<double>{-1e-7, 0.5, 1 + 1e-7});
    // thresholds −ε, 0.5, 1+ε: tp = [2, 1, 0], fp = [2, 0, 0] → tpr [1, .5, 0], fpr [1, 0, 0]
    // auc = (1 − 0)·(1 + 0.5)/2 + (0 − 0)·(0.5 + 0)/2 = 0.75
    auc.update_state(f32({0, 0, 1, 1}, {4}), f32({0, 0.5, 0.3, 0.9}, {4}));
    CHECK(auc.result() == Approx(0.75));
    auc.reset_state();
    auc.update_state(f32({0, 0, 1, 1}, {4}), f32({0, 0.5, 0.3, 0.9}, {4}), f32({1, 0, 0, 1}, {4}));
    CHECK(auc.result() == Approx(1.0));
  }
  SECTION("perfect, inverted and logit inputs") {
    metrics::AUC auc;
    auc.update_state(f64({0, 0, 1, 1}, {4}), f64({0.1, 0.2, 0.8, 0.9}, {4}));
    CHECK(auc.result() == Approx(1.0));
    metrics::AUC inverted;
    inverted.update_state(f64({1, 0, 1, 0}, {4}), f64({0.1, 0.8, 0.2, 0.9}, {4}));
    CHECK(inverted.result() == Approx(0.0).margin(1e-12));
    metrics::AUC logits({.from_logits = true});
    // logit(p) = log(p / (1 − p)) of the probabilities 0.1, 0.35, 0.8, 0.9 with labels 0 1 0 1.
    std::vector<double> probs = {0.1, 0.35, 0.8, 0.9}, x;
    for (double q : probs) x.push_back(std::log(q / (1 - q)));
    logits.update_state(f64({0, 1, 0, 1}, {4}), f64(x, {4}));
    CHECK(logits.result() == Approx(reference_auc({0, 1, 0, 1}, probs, {1, 1, 1, 1}, 200)));
  }
  SECTION("200 thresholds over several weighted batches equals the definition") {
    metrics::AUC auc;
    std::vector<double> all_y, all_p, all_w;
    for (std::uint64_t batch = 0; batch < 3; ++batch) {
      Tensor y = keel::random::bernoulli({50, 1}, 0.4, 100 + batch, DType::float64);
      Tensor p = keel::random::uniform({50, 1}, -0.1, 1.1, 200 + batch, DType::float64);  // some outside [0, 1]
      Tensor w = keel::random::uniform({50}, 0, 2, 300 + batch, DType::float64);
      auc.update_state(y, p, w);
      for (double v : y.to_vector()) all_y.push_back(v);
      for (double v : p.to_vector()) all_p.push_back(v);
      for (double v : w.to_vector()) all_w.push_back(v);
    }
    const double expected = reference_auc(all_y, all_p, all_w, 200);
    CHECK(expected > 0.3);
    CHECK(expected < 0.7);
    CHECK(auc.result() == Approx(expected).epsilon(1e-12));
  }
}

TEST_CASE("resolve_accuracy applies Keras 3's shape rule", "[metrics]") {
  // Binary whenever y_pred's last axis is 1.
  CHECK(is<metrics::BinaryAccuracy>(metrics::resolve_accuracy({32, 1}, {32, 1})));
  CHECK(is<metrics::BinaryAccuracy>(metrics::resolve_accuracy({32}, {32, 1})));
  CHECK(is<metrics::BinaryAccuracy>(metrics::resolve_accuracy({32, 10}, {32, 1})));
  // Sparse when y_true has lower rank, or a last axis of 1 against a wider y_pred.
  CHECK(is<metrics::SparseCategoricalAccuracy>(metrics::resolve_accuracy({32}, {32, 10})));
  CHECK(is<metrics::SparseCategoricalAccuracy>(metrics::resolve_accuracy({32, 1}, {32, 10})));
  CHECK(is<metrics::SparseCategoricalAccuracy>(metrics::resolve_accuracy({8, 5}, {8, 5, 10})));
  // Otherwise categorical.
  CHECK(is<metrics::CategoricalAccuracy>(metrics::resolve_accuracy({32, 10}, {32, 10})));
  CHECK(is<metrics::CategoricalAccuracy>(metrics::resolve_accuracy({8, 5, 10}, {8, 5, 10})));
  CHECK(metrics::resolve_accuracy({32}, {32, 10})->name() == "accuracy");
  CHECK(metrics::get("acc", {32, 10}, {32, 10})->name() == "acc");
  KEEL_CHECK_THROWS(metrics::resolve_accuracy({}, {32, 10}), keel::ShapeError, Contains("rank-0"));
}

TEST_CASE("metrics::get names, configs and errors", "[metrics]") {
  CHECK(is<metrics::SparseCategoricalAccuracy>(metrics::get("sparse_categorical_accuracy")));
  CHECK(is<metrics::CategoricalAccuracy>(metrics::get("categorical_accuracy")));
  CHECK(is<metrics::BinaryAccuracy>(metrics::get("binary_accuracy")));
  CHECK(is<metrics::TopKCategoricalAccuracy>(metrics::get("top_k_categorical_accuracy")));
  CHECK(is<metrics::SparseTopKCategoricalAccuracy>(metrics::get("sparse_top_k_categorical_accuracy")));
  CHECK(is<metrics::Precision>(metrics::get("precision")));
  CHECK(is<metrics::Recall>(metrics::get("recall")));
  CHECK(is<metrics::AUC>(metrics::get("auc")));
  CHECK(is<metrics::MeanSquaredError>(metrics::get("mse")));
  CHECK(is<metrics::MeanAbsoluteError>(metrics::get("mean_absolute_error")));
  CHECK(metrics::get("mse")->name() == "mse");
  CHECK(is<metrics::MeanSquaredError>(metrics::get("mse", {4, 1}, {4, 1})));
  KEEL_CHECK_THROWS(metrics::get("accuracy"), keel::ValueError, Contains("shapes"));
  KEEL_CHECK_THROWS(metrics::get("f1"), keel::ValueError, Contains("'f1'") && Contains("binary_accuracy"));

  metrics::BinaryAccuracy original({.threshold = 0.7, .name = "ba"});
  nlohmann::json json = metrics::serialize(original);
  CHECK(json["class_name"] == "BinaryAccuracy");
  CHECK(json["config"] == nlohmann::json{{"name", "ba"}, {"threshold", 0.7}});
  std::shared_ptr<metrics::Metric> copy = metrics::from_config(json);
  CHECK(copy->get_config() == original.get_config());
  CHECK(metrics::from_config(metrics::serialize(metrics::AUC({.num_thresholds = 50})))->get_config()["num_thresholds"] ==
        50);
  KEEL_CHECK_THROWS(metrics::from_config({{"class_name", "AUC"}, {"config", {{"curve", "PR"}}}}), keel::ValueError,
                    Contains("curve"));
  KEEL_CHECK_THROWS(metrics::from_config({{"class_name", "F1Score"}}), keel::ValueError, Contains("'F1Score'"));

  KEEL_CHECK_THROWS(metrics::BinaryAccuracy({.threshold = 1.0}), keel::ValueError, Contains("threshold"));
  KEEL_CHECK_THROWS(metrics::TopKCategoricalAccuracy({.k = 0}), keel::ValueError, Contains("k must be >= 1"));
  KEEL_CHECK_THROWS(metrics::Precision({.thresholds = 1.5}), keel::ValueError, Contains("1.5"));
  KEEL_CHECK_THROWS(metrics::AUC({.num_thresholds = 1}), keel::ValueError, Contains("num_thresholds"));
  metrics::CategoricalAccuracy categorical;
  KEEL_CHECK_THROWS(categorical.update_state(Tensor::zeros({32, 10}), Tensor::zeros({32, 1})), keel::ShapeError,
                    Contains("target and output must have the same shape") && Contains("[32, 10]"));
  metrics::SparseCategoricalAccuracy sparse;
  KEEL_CHECK_THROWS(sparse.update_state(i64({0, 1}, {2}), Tensor::zeros({2, 3}), Tensor::ones({3})), keel::ShapeError,
                    Contains("sample_weight") && Contains("[3]"));
  KEEL_CHECK_THROWS(sparse.update_state(i64({0, 1, 2}, {3}), Tensor::zeros({2, 3})), keel::ShapeError,
                    Contains("[2, 3]"));
}
