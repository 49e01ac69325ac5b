// BatchNormalization's optional modes against hand computations: renorm, ghost batches, adjustment,
// masks, axis lists, get_config (docs/semantics.md §1.6–§1.9, §2).
#include <catch2/catch.hpp>

#include <cmath>

#include "../support/stderr_capture.h"
#include "batch_normalization_test_support.h"
#include "keel/autograd/engine.h"
#include "keel/core/error.h"
#include "keel/layers/batch_normalization.h"
#include "keel/layers/batch_normalization_functional.h"

using Catch::Matchers::Contains;
using keel::Shape;
using keel::Tensor;
using keel::layers::BatchNormalization;
using keel::layers::BatchNormalizationLayer;
using keel::layers::CallContext;
using keel::test::require_close;
using Options = BatchNormalizationLayer::Options;

TEST_CASE("Renorm corrects with r and d from the pre-update statistics, then moves them", "[bn-modes]") {
  const double eps = 1e-3;
  // x = 1, 2, 3, 4: mean 2.5, biased variance 1.25.
  const std::vector<double> xs = {1, 2, 3, 4};
  const double sigma = std::sqrt(1.25 + eps);
  auto bn = BatchNormalization({.momentum = 0.9, .renorm = true, .renorm_momentum = 0.5});
  Tensor x = Tensor::from_vector(xs, {4, 1});
  // Step 1: renorm_mean 0, renorm_stddev sqrt(1) = 1: r = sigma, d = 2.5.
  std::vector<double> want(4);
  for (int i = 0; i < 4; ++i) want[i] = (xs[i] - 2.5) / sigma * sigma + 2.5;
  require_close((*bn)(x, true), want, 1e-6, "step 1");
  double renorm_mean = 1.25, renorm_stddev = 0.5 + 0.5 * sigma;
  double moving_stddev = 0.9 + 0.1 * sigma;
  require_close(bn->renorm_mean().value(), {renorm_mean}, 1e-6);
  require_close(bn->renorm_stddev().value(), {renorm_stddev}, 1e-6);
  require_close(bn->moving_mean().value(), {0.25}, 1e-6);
  require_close(bn->moving_stddev().value(), {moving_stddev}, 1e-6);
  require_close(bn->moving_variance().value(), {moving_stddev * moving_stddev - eps}, 1e-6);
  // Step 2 uses the statistics step 1 left.
  const double r = sigma / renorm_stddev, d = (2.5 - renorm_mean) / renorm_stddev;
  for (int i = 0; i < 4; ++i) want[i] = (xs[i] - 2.5) / sigma * r + d;
  require_close((*bn)(x, true), want, 1e-6, "step 2");
  // Inference is plain inference.
  moving_stddev = 0.9 * moving_stddev + 0.1 * sigma;
  const double mm = 0.9 * 0.25 + 0.1 * 2.5, mv = moving_stddev * moving_stddev - eps;
  for (int i = 0; i < 4; ++i) want[i] = (xs[i] - mm) / std::sqrt(mv + eps);
  require_close((*bn)(x, false), want, 1e-6, "inference");

  // Clipping: r = sigma = 1.118 clipped to rmax 1.05, d = 2.5 clipped to dmax 1.
  auto clipped = BatchNormalization({.beta_initializer = keel::initializers::Constant{0.5},
                                     .gamma_initializer = keel::initializers::Constant{2},
                                     .renorm = true,
                                     .renorm_clipping = {.rmax = 1.05, .rmin = 0.5, .dmax = 1}});
  for (int i = 0; i < 4; ++i) want[i] = ((xs[i] - 2.5) / sigma * 1.05 + 1.0) * 2 + 0.5;
  require_close((*clipped)(x, true), want, 1e-6, "clipped");
  // rmin raises a small r: renorm_stddev 4 (moving variance 16) gives r = sigma / 4 < rmin 0.5.
  auto raised = BatchNormalization({.moving_variance_initializer = keel::initializers::Constant{16}, .renorm = true,
                                    .renorm_clipping = {.rmin = 0.5}});
  for (int i = 0; i < 4; ++i) want[i] = (xs[i] - 2.5) / sigma * 0.5 + 2.5 / 4;
  require_close((*raised)(x, true), want, 1e-6, "rmin");
}

TEST_CASE("Ghost batches hold strided samples and average their statistics into the moving ones", "[bn-modes]") {
  // B = 4, V = 2, G = 2: ghost 0 = samples 0, 2 = {1, 3} (mean 2, var 1); ghost 1 = {10, 20} (mean 15, var 25).
  auto bn = BatchNormalization({.momentum = 0.9, .epsilon = 0, .virtual_batch_size = 2});
  Tensor x = Tensor::from_vector({1, 10, 3, 20}, {4, 1});
  require_close((*bn)(x, true), {-1, -1, 1, 1}, 1e-6);
  require_close(bn->moving_mean().value(), {0.1 * (2 + 15) / 2}, 1e-6);
  require_close(bn->moving_variance().value(), {0.9 + 0.1 * (1 + 25) / 2}, 1e-6);
  CHECK(bn->gamma().shape() == Shape{1});
  // Inference ignores ghost batches.
  const double mm = 0.85, mv = 2.2;
  require_close((*bn)(x, false), {(1 - mm) / std::sqrt(mv), (10 - mm) / std::sqrt(mv), (3 - mm) / std::sqrt(mv),
                                  (20 - mm) / std::sqrt(mv)},
                1e-6);
  REQUIRE_THROWS_AS((*bn)(Tensor::ones({5, 1}), true), keel::ValueError);
  REQUIRE_THROWS_WITH((*bn)(Tensor::ones({5, 1}), true), Contains("batch size 5 is not divisible by virtual_batch_size 2"));

  // With renorm, r and d come from the averaged moments: mean 8.5, var 13.
  auto renorm = BatchNormalization({.epsilon = 0, .renorm = true, .virtual_batch_size = 2});
  const double r = std::sqrt(13.0), d = 8.5;
  require_close((*renorm)(x, true), {-r + d, -r + d, r + d, r + d}, 1e-6);
}

TEST_CASE("Adjustment scales and shifts the normalized values in training only", "[bn-modes]") {
  std::vector<Shape> seen;
  auto adjust = [&seen](const Shape& shape) {
    seen.push_back(shape);
    return std::pair{Tensor::from_vector({2, 3}, {2}), Tensor::scalar(1)};
  };
  auto bn = BatchNormalization({.epsilon = 0, .beta_initializer = keel::initializers::Constant{0.5},
                                .gamma_initializer = keel::initializers::Constant{4}, .adjustment = adjust});
  // Channel 0: 1, 3 (mean 2, std 1); channel 1: 0, 4 (mean 2, std 2); x̂ = -1, -1, 1, 1.
  Tensor x = Tensor::from_vector({1, 0, 3, 4}, {2, 2});
  require_close((*bn)(x, true), {(-2 + 1) * 4 + 0.5, (-3 + 1) * 4 + 0.5, (2 + 1) * 4 + 0.5, (3 + 1) * 4 + 0.5}, 1e-6);
  REQUIRE(seen.size() == 1);
  CHECK(seen[0] == Shape{2, 2});
  (*bn)(x, false);
  CHECK(seen.size() == 1);
  auto bad = BatchNormalization({.adjustment = [](const Shape&) {
    return std::pair{Tensor::ones({3}), Tensor::zeros({})};
  }});
  REQUIRE_THROWS_AS((*bad)(x, true), keel::ShapeError);
}

TEST_CASE("A mask keeps masked positions out of the statistics but normalizes every position", "[bn-modes]") {
  const double eps = 1e-3;
  auto bn = BatchNormalization({.momentum = 0.9, .epsilon = eps});
  // [batch 2, time 2, features 1]; the masked position holds 100. Unmasked 1, 3, 5: mean 3, var 8/3.
  Tensor x = Tensor::from_vector({1, 100, 3, 5}, {2, 2, 1});
  Tensor mask = Tensor::from_vector({1, 0, 1, 1}, {2, 2}, keel::DType::boolean);
  Tensor y = (*bn)(x, CallContext{.training = true, .mask = mask});
  const double s = std::sqrt(8.0 / 3 + eps);
  require_close(y, {-2 / s, 97 / s, 0, 2 / s}, 1e-6);
  require_close(bn->moving_mean().value(), {0.3}, 1e-6);
  require_close(bn->moving_variance().value(), {0.9 + 0.1 * 8.0 / 3}, 1e-6);
  // All positions masked: count 0, mean 0 and variance 0 in the output, the moving statistics untouched.
  auto before = bn->get_weights();
  Tensor none = Tensor::zeros({2, 2}, keel::DType::boolean);
  y = (*bn)(x, CallContext{.training = true, .mask = none});
  require_close(y, {1 / std::sqrt(eps), 100 / std::sqrt(eps), 3 / std::sqrt(eps), 5 / std::sqrt(eps)}, 1e-6);
  CHECK(bn->moving_mean().value().to_vector() == before[2].to_vector());
  CHECK(bn->moving_variance().value().to_vector() == before[3].to_vector());
  // A mask of another rank, or not boolean.
  REQUIRE_THROWS_AS((*bn)(x, CallContext{.training = true, .mask = Tensor::ones({2}, keel::DType::boolean)}),
                    keel::ShapeError);
  REQUIRE_THROWS_WITH((*bn)(x, CallContext{.mask = Tensor::ones({2}, keel::DType::boolean)}), Contains("rank 2"));
  REQUIRE_THROWS_AS((*bn)(x, CallContext{.training = true, .mask = Tensor::ones({2, 2})}), keel::ValueError);
}

TEST_CASE("Masked statistics divide by count + 1e-7 as in Keras 3 _moments", "[bn-modes]") {
  // Keras (batch_normalization.py, _moments with a mask): mean = Σ m·x / (Σ m + 1e-7) and
  // var = Σ m·(x − mean)² / (Σ m + 1e-7). Values near 1000 make the 1e-7 visible in float64:
  // the mean moves by about 1003 · 1e-7 / 3 ≈ 3.3e-5 against dividing by the count.
  const double eps = 1e-3, keras_epsilon = 1e-7;
  auto bn = BatchNormalization({.momentum = 0.9, .epsilon = eps});
  bn->set_dtype(keel::DType::float64);
  const std::vector<double> xs = {1001, -7, 1003, 1005};
  Tensor x = Tensor::from_vector(xs, {2, 2, 1}, keel::DType::float64);
  Tensor mask = Tensor::from_vector({1, 0, 1, 1}, {2, 2}, keel::DType::boolean);
  const double count = 3, mean = (1001.0 + 1003 + 1005) / (count + keras_epsilon);
  const double var = (std::pow(1001 - mean, 2) + std::pow(1003 - mean, 2) + std::pow(1005 - mean, 2)) /
                     (count + keras_epsilon);
  Tensor y = (*bn)(x, CallContext{.training = true, .mask = mask});
  require_close(y, keel::test::normalized_rows(xs, 1, {mean}, {var}, eps), 1e-12);
  require_close(bn->moving_mean().value(), {0.1 * mean}, 1e-12);
  require_close(bn->moving_variance().value(), {0.9 + 0.1 * var}, 1e-12);
}

TEST_CASE("An axis list keeps statistics per combination of the listed axes", "[bn-modes]") {
  const double eps = 1e-3;
  // [B=3, H=2, W=2, C=2] with axis {1, 2}: one mean and variance per (h, w) over B and C.
  const Shape shape = {3, 2, 2, 2};
  std::vector<double> xs(24);
  for (std::size_t i = 0; i < xs.size(); ++i) xs[i] = std::sin(1.7 * static_cast<double>(i)) * 3 + static_cast<double>(i % 5);
  Tensor x = Tensor::from_vector(xs, shape, keel::DType::float64);
  auto idx = [](int b, int h, int w, int c) { return static_cast<std::size_t>(((b * 2 + h) * 2 + w) * 2 + c); };
  std::vector<double> mean(4, 0), var(4, 0), want(24);
  for (int hw = 0; hw < 4; ++hw) {
    for (int b = 0; b < 3; ++b)
      for (int c = 0; c < 2; ++c) mean[hw] += xs[idx(b, hw / 2, hw % 2, c)] / 6;
    for (int b = 0; b < 3; ++b)
      for (int c = 0; c < 2; ++c) var[hw] += std::pow(xs[idx(b, hw / 2, hw % 2, c)] - mean[hw], 2) / 6;
    for (int b = 0; b < 3; ++b)
      for (int c = 0; c < 2; ++c)
        want[idx(b, hw / 2, hw % 2, c)] = (xs[idx(b, hw / 2, hw % 2, c)] - mean[hw]) / std::sqrt(var[hw] + eps);
  }
  for (auto axis : {std::vector<std::int64_t>{1, 2}, std::vector<std::int64_t>{-2, 1}}) {
    auto bn = BatchNormalization({.axis = axis, .momentum = 0});
    bn->set_dtype(keel::DType::float64);
    require_close((*bn)(x, true), want, 1e-12);
    CHECK(bn->moving_mean().shape() == Shape{2, 2});
    require_close(bn->moving_mean().value(), mean, 1e-12);
    require_close(bn->moving_variance().value(), var, 1e-12);
    require_close((*bn)(x, false), want, 1e-12, "inference with momentum 0");
  }
}

TEST_CASE("get_config round-trips every argument and leaves adjustment out with a warning", "[bn-modes]") {
  Options o{.axis = {1, 3},
            .momentum = 0.9,
            .epsilon = 1e-5,
            .center = false,
            .beta_initializer = keel::initializers::Constant{0.5},
            .gamma_initializer = keel::initializers::RandomNormal{.stddev = 0.2, .seed = 4},
            .moving_mean_initializer = "ones",
            .moving_variance_initializer = keel::initializers::Constant{2},
            .beta_regularizer = keel::regularizers::L1{0.1},
            .gamma_regularizer = keel::regularizers::L2{0.3},
            .beta_constraint = keel::constraints::NonNeg{},
            .gamma_constraint = keel::constraints::MaxNorm{.max_value = 3},
            .renorm = true,
            .renorm_clipping = {.rmax = 3, .dmax = 5},
            .renorm_momentum = 0.7,
            .fused = false,
            .virtual_batch_size = 4,
            .synchronized = true,
            .trainable = false};
  auto bn = BatchNormalization(o, "cfg_bn");
  nlohmann::json config = bn->get_config();
  CHECK(config["axis"] == nlohmann::json({1, 3}));
  CHECK(config["renorm_clipping"] == nlohmann::json({{"rmax", 3.0}, {"dmax", 5.0}}));
  CHECK(config["virtual_batch_size"] == 4);
  CHECK(config["fused"] == false);
  CHECK(config["trainable"] == false);
  auto back = BatchNormalizationLayer::from_config(config);
  CHECK(back->name() == "cfg_bn");
  CHECK_FALSE(back->trainable());
  CHECK(back->get_config() == config);
  CHECK(back->serialize()["class_name"] == "BatchNormalization");
  CHECK(BatchNormalization()->get_config()["axis"] == -1);

  keel::test::StderrCapture capture;
  auto adjusted = BatchNormalization({.adjustment = [](const Shape&) { return std::pair{Tensor::ones({}), Tensor::zeros({})}; }},
                                     "adj_bn");
  nlohmann::json c = adjusted->get_config();
  CHECK_FALSE(c.contains("adjustment"));
  CHECK_THAT(capture.text(), Contains("'adj_bn': get_config() leaves out `adjustment`"));

  nlohmann::json unknown = config;
  unknown["renorm_clipping"]["rmaxx"] = 1;
  REQUIRE_THROWS_AS(BatchNormalizationLayer::from_config(unknown), keel::ValueError);
  REQUIRE_THROWS_WITH(BatchNormalizationLayer::from_config(unknown), Contains("'rmaxx'"));
  unknown = config;
  unknown["moment"] = 0.5;
  REQUIRE_THROWS_WITH(BatchNormalizationLayer::from_config(unknown), Contains("'moment'"));
}

TEST_CASE("The functional form updates its explicit state itself", "[bn-modes]") {
  Options o{.momentum = 0.5};
  auto state = keel::make_batch_norm_state({3, 2}, o);
  Tensor x = Tensor::from_vector({1, 2, 3, 6, 5, 10}, {3, 2});
  Tensor y = keel::batch_normalization(x, state, o, true);
  require_close(y, keel::test::normalized_rows(x.to_vector(), 2, {3, 6}, {8.0 / 3, 32.0 / 3}, 1e-3), 1e-6);
  require_close(state.moving_mean, {1.5, 3}, 1e-7);
  require_close(state.moving_variance, {0.5 + 4.0 / 3, 0.5 + 16.0 / 3}, 1e-6);
  Tensor inferred = keel::batch_normalization(x, state, o, false);
  require_close(inferred, keel::test::normalized_rows(x.to_vector(), 2, {1.5, 3}, {0.5 + 4.0 / 3, 0.5 + 16.0 / 3}, 1e-3),
                1e-6);
  keel::BatchNormState wrong = state;
  wrong.moving_mean = Tensor::zeros({3});
  REQUIRE_THROWS_AS(keel::batch_normalization(x, wrong, o, true), keel::ShapeError);
  REQUIRE_THROWS_AS(keel::batch_normalization(x, state, Options{.epsilon = -1}, true), keel::ValueError);
}

TEST_CASE("make_batch_norm_state starts where the layer's build does", "[bn-modes]") {
  using keel::initializers::Constant;
  const Options o{.center = false,
                  .gamma_initializer = Constant{3.0},
                  .moving_mean_initializer = Constant{0.5},
                  .moving_variance_initializer = Constant{4.0},
                  .renorm = true};
  auto state = keel::make_batch_norm_state({5, 2}, o);
  auto bn = BatchNormalization(o);
  (*bn)(Tensor::zeros({5, 2}));
  // By hand: gamma 3, no beta (center = false), moving_mean 0.5, moving_variance 4, and the renorm
  // statistics start at the moving ones, the standard deviations at sqrt(4) = 2.
  const std::pair<const char*, std::pair<Tensor, keel::Variable>> weights[] = {
      {"gamma", {state.gamma, bn->gamma()}},
      {"moving_mean", {state.moving_mean, bn->moving_mean()}},
      {"moving_variance", {state.moving_variance, bn->moving_variance()}},
      {"moving_stddev", {state.moving_stddev, bn->moving_stddev()}},
      {"renorm_mean", {state.renorm_mean, bn->renorm_mean()}},
      {"renorm_stddev", {state.renorm_stddev, bn->renorm_stddev()}}};
  const std::vector<std::vector<double>> want = {{3, 3}, {0.5, 0.5}, {4, 4}, {2, 2}, {0.5, 0.5}, {2, 2}};
  for (std::size_t i = 0; i < want.size(); ++i) {
    INFO(weights[i].first);
    CHECK(weights[i].second.first.to_vector() == want[i]);
    CHECK(weights[i].second.second.value().to_vector() == want[i]);
  }
  CHECK_FALSE(state.beta.defined());
  CHECK_FALSE(bn->beta().defined());
  CHECK(keel::requires_grad(state.gamma));
  CHECK_FALSE(keel::requires_grad(state.moving_stddev));
}
