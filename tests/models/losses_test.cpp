// Losses against hand-written formulas (docs/semantics.md §5, §7).
#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <vector>

#include "keel/autograd/engine.h"
#include "keel/autograd/gradcheck.h"
#include "keel/autograd/ops.h"
#include "keel/core/error.h"
#include "keel/core/random.h"
#include "keel/models/losses.h"
#include "support/make_tensor.h"
#include "support/throws.h"

using Catch::Matchers::Contains;
using keel::DType;
using keel::Shape;
using keel::Tensor;
namespace losses = keel::losses;

using keel::test::f32;
using keel::test::f64;
using keel::test::i64;

namespace {


double log_sum_exp(const std::vector<double>& row) {
  double m = row[0];
  for (double v : row) m = std::max(m, v);
  double s = 0;
  for (double v : row) s += std::exp(v - m);
  return m + std::log(s);
}

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// Gradient of loss(y_true, y_pred) with respect to y_pred, for checking finiteness.
std::vector<double> grad_of(const losses::Loss& loss, const Tensor& y_true, Tensor y_pred) {
  keel::set_requires_grad(y_pred);
  keel::backward(loss(y_true, y_pred));
  return keel::grad(y_pred).to_vector();
}

bool all_finite(const std::vector<double>& v) {
  for (double x : v)
    if (!std::isfinite(x)) return false;
  return true;
}

void check_gradient(const std::function<Tensor(const std::vector<Tensor>&)>& f, const std::vector<Tensor>& inputs) {
  keel::GradcheckResult r = keel::gradcheck(f, inputs);
  INFO(r.message);
  CHECK(r.ok);
}

}  // namespace

TEST_CASE("sparse categorical crossentropy from logits is log-sum-exp minus the labelled logit", "[losses]") {
  Tensor logits = f32({1, 2, 3, 1, 0, -1}, {2, 3});
  const double row0 = log_sum_exp({1, 2, 3}) - 3, row1 = log_sum_exp({1, 0, -1}) - 1;
  losses::SparseCategoricalCrossentropy loss({.from_logits = true});
  CHECK(loss(i64({2, 0}, {2}), logits).item() == Approx((row0 + row1) / 2).epsilon(1e-6));
  // Float labels holding integers, and labels of shape [N, 1], give the same loss.
  CHECK(loss(f32({2, 0}, {2}), logits).item() == Approx((row0 + row1) / 2).epsilon(1e-6));
  CHECK(loss(i64({2, 0}, {2, 1}), logits).item() == Approx((row0 + row1) / 2).epsilon(1e-6));
  CHECK(loss.name() == "sparse_categorical_crossentropy");
}

TEST_CASE("sparse categorical crossentropy from probabilities renormalizes rows and clips", "[losses]") {
  losses::SparseCategoricalCrossentropy loss;
  // Row 1 sums to 4: renormalized to [0.25, 0.25, 0.5]. Row 2 has 0 at the label: clipped to 1e-7.
  Tensor probs = f64({0.2, 0.3, 0.5, 1, 1, 2, 0.6, 0.4, 0.0}, {3, 3});
  const double expected = (-std::log(0.5) - std::log(0.5) - std::log(1e-7)) / 3;
  CHECK(loss(i64({2, 2, 2}, {3}), probs).item() == Approx(expected).epsilon(1e-9));
}

TEST_CASE("sparse categorical crossentropy takes [N, T, C] predictions with [N, T] labels", "[losses]") {
  losses::SparseCategoricalCrossentropy loss({.from_logits = true, .reduction = losses::Reduction::none});
  Tensor logits = f64({0, 1, 2, 3, 5, 4, 1, 1}, {2, 2, 2});
  Tensor values = loss(i64({1, 0, 0, 1}, {2, 2}), logits);
  REQUIRE(values.shape() == Shape{2, 2});
  std::vector<double> v = values.to_vector();
  CHECK(v[0] == Approx(log_sum_exp({0, 1}) - 1));
  CHECK(v[1] == Approx(log_sum_exp({2, 3}) - 2));
  CHECK(v[2] == Approx(log_sum_exp({5, 4}) - 5));
  CHECK(v[3] == Approx(log_sum_exp({1, 1}) - 1));
}

TEST_CASE("categorical crossentropy values, from probabilities and logits, with label smoothing", "[losses]") {
  Tensor y = f64({0, 0, 1, 0, 1, 0}, {2, 3});
  SECTION("probabilities, one row renormalized") {
    Tensor p = f64({0.1, 0.1, 0.8, 0.4, 1.2, 0.4}, {2, 3});  // row 2 sums to 2: [0.2, 0.6, 0.2]
    losses::CategoricalCrossentropy loss;
    CHECK(loss(y, p).item() == Approx((-std::log(0.8) - std::log(0.6)) / 2).epsilon(1e-12));
  }
  SECTION("logits with label smoothing 0.1 over 3 classes") {
    Tensor x = f64({1, 2, 3, -1, 0, 4}, {2, 3});
    losses::CategoricalCrossentropy loss({.from_logits = true, .label_smoothing = 0.1});
    const std::vector<std::vector<double>> rows = {{1, 2, 3}, {-1, 0, 4}};
    const std::vector<std::vector<double>> ys = {{0, 0, 1}, {0, 1, 0}};
    double total = 0;
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 3; ++j) {
        const double smoothed = ys[i][j] * 0.9 + 0.1 / 3;
        total += -smoothed * (rows[i][j] - log_sum_exp(rows[i]));
      }
    CHECK(loss(y, x).item() == Approx(total / 2).epsilon(1e-12));
  }
  SECTION("sparse and one-hot categorical agree on probabilities") {
    Tensor p = f64({0.1, 0.1, 0.8, 0.2, 0.6, 0.2}, {2, 3});
    CHECK(losses::CategoricalCrossentropy()(y, p).item() ==
          Approx(losses::SparseCategoricalCrossentropy()(i64({2, 1}, {2}), p).item()).epsilon(1e-12));
  }
}

TEST_CASE("binary crossentropy values: mean over the last axis, smoothing towards 1/2", "[losses]") {
  Tensor y = f64({1, 0, 0, 1}, {2, 2});
  SECTION("probabilities") {
    Tensor p = f64({0.9, 0.2, 0.3, 0.6}, {2, 2});
    const double s0 = -(std::log(0.9) + std::log(0.8)) / 2, s1 = -(std::log(0.7) + std::log(0.6)) / 2;
    CHECK(losses::BinaryCrossentropy()(y, p).item() == Approx((s0 + s1) / 2).epsilon(1e-12));
  }
  SECTION("probabilities with label smoothing 0.2: targets 0.9 and 0.1") {
    Tensor p = f64({0.9, 0.2, 0.3, 0.6}, {2, 2});
    auto bce = [](double t, double q) { return -(t * std::log(q) + (1 - t) * std::log(1 - q)); };
    const double expected = (bce(0.9, 0.9) + bce(0.1, 0.2) + bce(0.1, 0.3) + bce(0.9, 0.6)) / 4;
    CHECK(losses::BinaryCrossentropy({.label_smoothing = 0.2})(y, p).item() == Approx(expected).epsilon(1e-12));
  }
  SECTION("logits agree with -(y log σ(x) + (1 − y) log(1 − σ(x)))") {
    Tensor x = f64({2.5, -1, 0, 0.7}, {2, 2});
    const std::vector<double> xs = {2.5, -1, 0, 0.7}, ys = {1, 0, 0, 1};
    double total = 0;
    for (int i = 0; i < 4; ++i)
      total += -(ys[i] * std::log(sigmoid(xs[i])) + (1 - ys[i]) * std::log(1 - sigmoid(xs[i])));
    CHECK(losses::BinaryCrossentropy({.from_logits = true})(y, x).item() == Approx(total / 4).epsilon(1e-12));
  }
  SECTION("targets [N] against outputs [N, 1]") {
    Tensor p = f64({0.9, 0.2}, {2, 1});
    CHECK(losses::BinaryCrossentropy()(f64({1, 0}, {2}), p).item() ==
          Approx(-(std::log(0.9) + std::log(0.8)) / 2).epsilon(1e-12));
  }
}

TEST_CASE("regression losses: mse, mae and huber by hand", "[losses]") {
  Tensor y = f64({0, 1, 2, 3}, {2, 2});
  Tensor p = f64({1, 1, 2, 5}, {2, 2});  // errors 1, 0 | 0, 2
  CHECK(losses::MeanSquaredError()(y, p).item() == Approx(((1.0 + 0) / 2 + (0 + 4.0) / 2) / 2));
  CHECK(losses::MeanAbsoluteError()(y, p).item() == Approx(((1.0 + 0) / 2 + (0 + 2.0) / 2) / 2));
  // δ = 1: |e| = 1 is quadratic (½·1), |e| = 2 is linear (1·2 − ½).
  CHECK(losses::Huber()(y, p).item() == Approx(((0.5 + 0) / 2 + (0 + 1.5) / 2) / 2));
  // δ = 3: every error quadratic.
  CHECK(losses::Huber({.delta = 3})(y, p).item() == Approx(((0.5 + 0) / 2 + (0 + 2.0) / 2) / 2));
  CHECK(losses::MeanSquaredError().name() == "mean_squared_error");
  CHECK(losses::Huber().name() == "huber_loss");
}

TEST_CASE("reductions: sum_over_batch_size divides by the element count, not by Σw", "[losses]") {
  Tensor y = f64({0, 1, 2, 3}, {2, 2});
  Tensor p = f64({1, 1, 2, 5}, {2, 2});  // per-sample MSE 0.5 and 2
  Tensor w = f64({2, 0.5}, {2});         // weighted: 1 and 1
  CHECK(losses::MeanSquaredError()(y, p, w).item() == Approx((2 * 0.5 + 0.5 * 2) / 2));
  CHECK(losses::MeanSquaredError({.reduction = losses::Reduction::sum})(y, p, w).item() == Approx(2.0));
  Tensor none = losses::MeanSquaredError({.reduction = losses::Reduction::none})(y, p, w);
  REQUIRE(none.shape() == Shape{2});
  CHECK(none.to_vector() == std::vector<double>{1.0, 1.0});
  // [N, 1] weights, integer weights and a scalar weight.
  CHECK(losses::MeanSquaredError()(y, p, f64({2, 0.5}, {2, 1})).item() == Approx(1.0));
  CHECK(losses::MeanSquaredError()(y, p, i64({1, 3}, {2})).item() == Approx((0.5 + 3 * 2) / 2));
  CHECK(losses::MeanSquaredError()(y, p, Tensor::scalar(3, DType::float64)).item() == Approx(3 * 1.25));
  // A per-sample weight covers every timestep of a sequence loss: [N, T] losses with [N] weights.
  losses::SparseCategoricalCrossentropy seq({.from_logits = true});
  Tensor logits = f64({0, 1, 2, 3, 5, 4, 1, 1}, {2, 2, 2});
  const double l00 = log_sum_exp({0, 1}) - 1, l01 = log_sum_exp({2, 3}) - 2;
  const double l10 = log_sum_exp({5, 4}) - 5, l11 = log_sum_exp({1, 1}) - 1;
  CHECK(seq(i64({1, 0, 0, 1}, {2, 2}), logits, f64({1, 3}, {2})).item() ==
        Approx((l00 + l01 + 3 * (l10 + l11)) / 4));
  // Zero samples: no division by zero.
  Tensor empty_loss = losses::MeanSquaredError()(f64({}, {0, 2}), f64({}, {0, 2}));
  CHECK(empty_loss.item() == 0.0);
}

TEST_CASE("backward through a loss reaches y_pred with the softmax-minus-one-hot gradient", "[losses]") {
  Tensor logits = f64({1, 2, 3, 1, 0, -1}, {2, 3});
  keel::set_requires_grad(logits);
  losses::SparseCategoricalCrossentropy loss({.from_logits = true});
  keel::backward(loss(i64({2, 0}, {2}), logits));
  std::vector<double> g = keel::grad(logits).to_vector();
  const std::vector<std::vector<double>> rows = {{1, 2, 3}, {1, 0, -1}};
  const int labels[2] = {2, 0};
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j) {
      const double softmax = std::exp(rows[i][j] - log_sum_exp(rows[i]));
      CHECK(g[i * 3 + j] == Approx((softmax - (j == labels[i] ? 1.0 : 0.0)) / 2).margin(1e-12));
    }
}

TEST_CASE("loss gradients pass gradcheck in float64", "[losses]") {
  const Tensor labels = i64({0, 2, 1, 2}, {4});
  const Tensor onehot = f64({1, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1}, {4, 3});
  const Tensor weights = f64({1, 0.5, 2, 0}, {4});
  const Tensor logits = keel::random::uniform({4, 3}, -3, 3, 11, DType::float64);
  const Tensor probs = keel::random::uniform({4, 3}, 0.05, 0.95, 12, DType::float64);
  const Tensor binary = keel::random::bernoulli({4, 3}, 0.5, 13, DType::float64);
  SECTION("sparse, from logits and probabilities, weighted") {
    check_gradient([&](auto& x) { return losses::SparseCategoricalCrossentropy({.from_logits = true})(labels, x[0], weights); },
                   {logits});
    check_gradient([&](auto& x) { return losses::SparseCategoricalCrossentropy()(labels, x[0], weights); }, {probs});
  }
  SECTION("categorical, from logits and probabilities, smoothed") {
    check_gradient(
        [&](auto& x) { return losses::CategoricalCrossentropy({.from_logits = true, .label_smoothing = 0.2})(onehot, x[0]); },
        {logits});
    check_gradient([&](auto& x) { return losses::CategoricalCrossentropy({.label_smoothing = 0.1})(onehot, x[0]); },
                   {probs});
  }
  SECTION("binary, from logits (to logits and targets) and probabilities") {
    check_gradient([&](auto& x) { return losses::BinaryCrossentropy({.from_logits = true})(x[1], x[0], weights); },
                   {logits, probs});
    check_gradient([&](auto& x) { return losses::BinaryCrossentropy({.label_smoothing = 0.1})(binary, x[0]); }, {probs});
  }
  SECTION("regression losses, with the errors kept away from their kinks") {
    const Tensor target = f64(std::vector<double>(12, 0.0), {4, 3});
    const Tensor spread = f64({0.3, -0.4, 1.6, -2.2, 0.7, -0.6, 2.5, 0.2, -1.3, 0.45, -0.8, 1.9}, {4, 3});
    check_gradient([&](auto& x) { return losses::MeanSquaredError()(target, x[0], weights); }, {spread});
    check_gradient([&](auto& x) { return losses::MeanAbsoluteError()(target, x[0]); }, {spread});
    check_gradient([&](auto& x) { return losses::Huber()(target, x[0], weights); }, {spread});
  }
}

TEST_CASE("cross-entropies stay finite at extreme logits and at probabilities 0 and 1", "[losses]") {
  const double big = GENERATE(1e4, 88.0, 1e30);
  SECTION("logits") {
    Tensor x = f32({big, -big, 0, -big, big, 0}, {2, 3});
    std::vector<double> g = grad_of(losses::SparseCategoricalCrossentropy({.from_logits = true}), i64({1, 1}, {2}), x);
    CHECK(all_finite(g));
    CHECK(losses::SparseCategoricalCrossentropy({.from_logits = true})(i64({1, 1}, {2}), x).item() ==
          Approx(big).epsilon(1e-6));  // row 0: 2·big, row 1: 0
    Tensor onehot = f32({0, 1, 0, 0, 1, 0}, {2, 3});
    Tensor cce = losses::CategoricalCrossentropy({.from_logits = true})(onehot, x);
    CHECK(std::isfinite(cce.item()));
    CHECK(all_finite(grad_of(losses::CategoricalCrossentropy({.from_logits = true}), onehot, x)));
    // Binary: y = 1 at x = +big costs ~0 and at x = −big costs big; y = 0 the other way round.
    Tensor y = f32({1, 1, 0, 0, 0, 1}, {2, 3});
    const double bce = losses::BinaryCrossentropy({.from_logits = true})(y, x).item();
    CHECK(bce == Approx((0 + big + std::log(2.0) + 0 + big + std::log(2.0)) / 6).epsilon(1e-6));
    std::vector<double> gb = grad_of(losses::BinaryCrossentropy({.from_logits = true}), y, x);
    CHECK(all_finite(gb));
    // d/dx = (σ(x) − y)/6: −1/6 at x = −big with y = 1, 0 at x = +big with y = 1.
    CHECK(gb[1] == Approx(-1.0 / 6));
    CHECK(gb[0] == Approx(0.0).margin(1e-7));
  }
  SECTION("probabilities exactly 0 and 1") {
    Tensor p = f32({0, 1, 0, 1, 0, 0}, {2, 3});
    Tensor onehot = f32({1, 0, 0, 0, 1, 0}, {2, 3});  // both rows give their label probability 0
    // The clip bounds as float32 holds them: 1e-7 and 1 − 1e-7 = 1 − 2⁻²³ (so 1 − p ≥ 2⁻²³ ≈ 1.19e-7).
    const double clipped = -std::log(static_cast<double>(1e-7f));
    const double clipped_high = -std::log(1.0 - static_cast<double>(static_cast<float>(1.0 - 1e-7)));
    CHECK(losses::CategoricalCrossentropy()(onehot, p).item() == Approx(clipped).epsilon(1e-5));
    CHECK(all_finite(grad_of(losses::CategoricalCrossentropy(), onehot, p)));
    CHECK(losses::SparseCategoricalCrossentropy()(i64({0, 0}, {2}), p).item() == Approx(clipped / 2).epsilon(1e-5));
    CHECK(all_finite(grad_of(losses::SparseCategoricalCrossentropy(), i64({0, 0}, {2}), p)));
    // Wrong with certainty at three of six entries: p = 0 for y = 1 twice, p = 1 for y = 0 once.
    Tensor y = f32({1, 0, 0, 1, 1, 0}, {2, 3});
    const double bce = losses::BinaryCrossentropy()(y, p).item();
    CHECK(std::isfinite(bce));
    CHECK(bce == Approx((2 * clipped + clipped_high) / 6).epsilon(1e-5));
    CHECK(all_finite(grad_of(losses::BinaryCrossentropy(), y, p)));
  }
}

TEST_CASE("loss errors name the loss and the offending values", "[losses]") {
  SECTION("target and output shapes differ") {
    Tensor y = Tensor::zeros({32, 10}), p = Tensor::zeros({32, 1});
    KEEL_CHECK_THROWS(losses::CategoricalCrossentropy()(y, p), keel::ShapeError,
                         Contains("target and output must have the same shape") && Contains("[32, 10]") &&
                             Contains("[32, 1]"));
    CHECK_THROWS_AS(losses::BinaryCrossentropy()(y, p), keel::ShapeError);
    CHECK_THROWS_AS(losses::MeanSquaredError()(y, p), keel::ShapeError);
  }
  SECTION("sparse labels out of range") {
    Tensor p = Tensor::zeros({4, 10});
    KEEL_CHECK_THROWS(losses::SparseCategoricalCrossentropy()(i64({0, 1, 2, 10}, {4}), p), keel::IndexError,
                         Contains("SparseCategoricalCrossentropy") && Contains("label 10 in row 3"));
    KEEL_CHECK_THROWS(losses::SparseCategoricalCrossentropy({.from_logits = true})(f32({-1, 0, 0, 0}, {4}), p),
                         keel::IndexError, Contains("label -1 in row 0"));
  }
  SECTION("bad sparse labels") {
    Tensor p = Tensor::zeros({2, 3});
    KEEL_CHECK_THROWS(losses::SparseCategoricalCrossentropy()(f32({0, 1.5}, {2}), p), keel::ValueError,
                         Contains("must be integers") && Contains("row 1"));
    KEEL_CHECK_THROWS(losses::SparseCategoricalCrossentropy()(i64({0, 1, 2}, {3}), p), keel::ShapeError,
                         Contains("[3]") && Contains("[2, 3]"));
  }
  SECTION("options and sample weights") {
    KEEL_CHECK_THROWS(losses::CategoricalCrossentropy({.label_smoothing = 1.5}), keel::ValueError,
                         Contains("label_smoothing") && Contains("1.5"));
    KEEL_CHECK_THROWS(losses::Huber({.delta = -1}), keel::ValueError, Contains("delta"));
    Tensor y = Tensor::zeros({2, 2}), p = Tensor::zeros({2, 2});
    KEEL_CHECK_THROWS(losses::MeanSquaredError()(y, p, Tensor::ones({3})), keel::ShapeError,
                         Contains("sample_weight") && Contains("[3]"));
    KEEL_CHECK_THROWS(losses::MeanSquaredError()(y, i64({0, 0, 0, 0}, {2, 2})), keel::ValueError,
                         Contains("y_pred") && Contains("int64"));
  }
}

TEST_CASE("losses::get resolves Keras names - configs round-trip through from_config", "[losses]") {
  CHECK(dynamic_cast<losses::SparseCategoricalCrossentropy*>(losses::get("sparse_categorical_crossentropy").get()));
  CHECK(dynamic_cast<losses::CategoricalCrossentropy*>(losses::get("categorical_crossentropy").get()));
  CHECK(dynamic_cast<losses::BinaryCrossentropy*>(losses::get("binary_crossentropy").get()));
  CHECK(dynamic_cast<losses::MeanSquaredError*>(losses::get("mse").get()));
  CHECK(dynamic_cast<losses::MeanSquaredError*>(losses::get("mean_squared_error").get()));
  CHECK(dynamic_cast<losses::MeanAbsoluteError*>(losses::get("mae").get()));
  CHECK(dynamic_cast<losses::MeanAbsoluteError*>(losses::get("mean_absolute_error").get()));
  CHECK(dynamic_cast<losses::Huber*>(losses::get("huber").get()));
  KEEL_CHECK_THROWS(losses::get("hinge"), keel::ValueError,
                       Contains("'hinge'") && Contains("categorical_crossentropy") && Contains("mse"));

  losses::CategoricalCrossentropy original(
      {.from_logits = true, .label_smoothing = 0.25, .reduction = losses::Reduction::sum, .name = "cce"});
  nlohmann::json json = losses::serialize(original);
  CHECK(json["class_name"] == "CategoricalCrossentropy");
  CHECK(json["config"]["from_logits"] == true);
  CHECK(json["config"]["label_smoothing"] == 0.25);
  CHECK(json["config"]["reduction"] == "sum");
  CHECK(json["config"]["name"] == "cce");
  std::shared_ptr<losses::Loss> copy = losses::from_config(json);
  CHECK(copy->get_config() == original.get_config());
  Tensor y = f64({0, 1, 1, 0}, {2, 2}), x = f64({0.5, -1, 2, 3}, {2, 2});
  CHECK(copy->operator()(y, x).item() == original(y, x).item());
  CHECK(losses::from_config(losses::serialize(losses::Huber({.delta = 2.5})))->get_config()["delta"] == 2.5);

  KEEL_CHECK_THROWS(losses::from_config({{"class_name", "Hinge"}, {"config", nlohmann::json::object()}}),
                       keel::ValueError, Contains("'Hinge'") && Contains("BinaryCrossentropy"));
  KEEL_CHECK_THROWS(losses::from_config({{"class_name", "Huber"}, {"config", {{"delt", 2}}}}), keel::ValueError,
                       Contains("delt"));
  KEEL_CHECK_THROWS(losses::from_config({{"class_name", "Huber"}, {"config", {{"reduction", "mean"}}}}),
                       keel::ValueError, Contains("'mean'"));
}
