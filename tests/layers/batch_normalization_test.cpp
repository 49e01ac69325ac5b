// BatchNormalization layer: arguments, weights, training/inference numbers computed by hand (docs/semantics.md §1).
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "../support/stderr_capture.h"
#include "batch_normalization_test_support.h"
#include "keel/autograd/ops.h"
#include "keel/core/error.h"
#include "keel/layers/batch_normalization.h"

using Catch::Matchers::Contains;
using keel::Shape;
using keel::Tensor;
using keel::layers::BatchNormalization;
using keel::layers::BatchNormalizationLayer;
using keel::layers::CallContext;
using keel::test::normalized_rows;
using keel::test::require_close;
using Options = BatchNormalizationLayer::Options;

namespace {
const double kNaN = std::numeric_limits<double>::quiet_NaN();
// Channel 0 holds 1, 3, 5 (mean 3, biased variance 8/3); channel 1 holds 2, 6, 10 (mean 6, variance 32/3).
const std::vector<double> kRows = {1, 2, 3, 6, 5, 10};
Tensor rows(keel::DType dtype = keel::DType::float32) { return Tensor::from_vector(kRows, {3, 2}, dtype); }
}  // namespace

TEST_CASE("BatchNormalization rejects invalid arguments at construction naming the argument", "[bn-layer]") {
  auto rejects = [](Options o, const std::string& text) {
    REQUIRE_THROWS_AS(BatchNormalization(o), keel::ValueError);
    REQUIRE_THROWS_WITH(BatchNormalization(o), Contains(text));
  };
  rejects({.epsilon = -1e-3}, "epsilon must be >= 0, got -0.001");
  rejects({.epsilon = kNaN}, "epsilon");
  rejects({.momentum = 1.5}, "momentum must be in [0, 1], got 1.5");
  rejects({.momentum = -0.1}, "momentum");
  rejects({.momentum = kNaN}, "momentum");
  rejects({.renorm_momentum = 2}, "renorm_momentum");
  rejects({.axis = {1, 1}}, "axis 1 is repeated");
  rejects({.axis = {}}, "axis must name at least one axis");
  rejects({.virtual_batch_size = 0}, "virtual_batch_size must be > 0, got 0");
  rejects({.virtual_batch_size = -2}, "virtual_batch_size must be > 0, got -2");
  rejects({.axis = {0}, .virtual_batch_size = 2}, "virtual_batch_size cannot be used with axis 0");
  rejects({.renorm_clipping = {.rmax = 1, .rmin = 2}}, "rmax (1) is less than rmin (2)");
  rejects({.renorm_clipping = {.dmax = -1}}, "dmax must be >= 0, got -1");
  auto adjust = [](const Shape&) { return std::pair{Tensor::ones({}), Tensor::zeros({})}; };
  rejects({.virtual_batch_size = 2, .adjustment = adjust}, "virtual_batch_size cannot be used with adjustment");
  rejects({.renorm = true, .fused = true}, "fused=true cannot be used because renorm=true");
  rejects({.fused = true, .virtual_batch_size = 2}, "fused=true cannot be used because virtual_batch_size");
  rejects({.fused = true, .adjustment = adjust}, "fused=true cannot be used because adjustment");
  CHECK_NOTHROW(BatchNormalization({.momentum = 0, .epsilon = 0, .fused = false}));
  CHECK_NOTHROW(BatchNormalization({.momentum = 1}));
}

TEST_CASE("BatchNormalization build checks the axis against the rank", "[bn-layer]") {
  auto bad_axis = BatchNormalization({.axis = {3}}, "bad_axis");
  REQUIRE_THROWS_AS((*bad_axis)(Tensor::ones({2, 3})), keel::ShapeError);
  REQUIRE_THROWS_WITH((*bad_axis)(Tensor::ones({2, 3})), Contains("axis 3") && Contains("rank 2"));
  REQUIRE_THROWS_WITH((*BatchNormalization({.axis = {-3}}))(Tensor::ones({2, 3})), Contains("axis -3"));
  auto rank1 = BatchNormalization();
  REQUIRE_THROWS_AS((*rank1)(Tensor::ones({5})), keel::ShapeError);
  REQUIRE_THROWS_WITH((*rank1)(Tensor::ones({5})), Contains("rank >= 2"));
  REQUIRE_THROWS_AS((*BatchNormalization({.axis = {-1, 1}}))(Tensor::ones({2, 3})), keel::ValueError);
  REQUIRE_THROWS_WITH((*BatchNormalization({.fused = true}))(Tensor::ones({2, 3})), Contains("rank 4 or 5"));
  REQUIRE_THROWS_WITH((*BatchNormalization({.axis = {2}, .fused = true}))(Tensor::ones({2, 3, 3, 3})),
                      Contains("channel axis to be 1 or 3"));
  CHECK_NOTHROW((*BatchNormalization({.axis = {1}, .fused = true}))(Tensor::ones({2, 3, 3, 3})));
  auto ghost_axis0 = BatchNormalization({.axis = {-2}, .virtual_batch_size = 1});
  REQUIRE_THROWS_WITH((*ghost_axis0)(Tensor::ones({2, 3})), Contains("axis 0"));
}

TEST_CASE("BatchNormalization weights come in Keras's order with the channel shape", "[bn-layer]") {
  auto bn = BatchNormalization({}, "bn_w");
  (*bn)(Tensor::ones({2, 4, 4, 10}));
  auto w = bn->weights();
  REQUIRE(w.size() == 4);
  const char* names[] = {"bn_w/gamma", "bn_w/beta", "bn_w/moving_mean", "bn_w/moving_variance"};
  for (std::size_t i = 0; i < 4; ++i) {
    CHECK(w[i].name() == names[i]);
    CHECK(w[i].shape() == Shape{10});
  }
  CHECK(bn->count_params() == 40);
  CHECK(bn->trainable_weights().size() == 2);
  CHECK(bn->non_trainable_weights().size() == 2);
  REQUIRE_THROWS_AS((*bn)(Tensor::ones({2, 4, 4, 9})), keel::ShapeError);
  // parameter lengths != C through set_weights.
  std::vector<Tensor> bad = {Tensor::ones({9}), Tensor::ones({10}), Tensor::ones({10}), Tensor::ones({10})};
  REQUIRE_THROWS_AS(bn->set_weights(bad), keel::ShapeError);
  bad[0] = Tensor::ones({11});
  REQUIRE_THROWS_WITH(bn->set_weights(bad), Contains("[11]") && Contains("[10]"));

  auto renorm = BatchNormalization({.scale = false,
                                    .moving_mean_initializer = keel::initializers::Constant{0.5},
                                    .moving_variance_initializer = keel::initializers::Constant{4.0},
                                    .renorm = true},
                                   "bn_r");
  (*renorm)(Tensor::ones({2, 3}));
  auto rw = renorm->weights();
  REQUIRE(rw.size() == 6);
  const char* renorm_names[] = {"bn_r/beta", "bn_r/moving_mean", "bn_r/moving_variance", "bn_r/moving_stddev",
                                "bn_r/renorm_mean", "bn_r/renorm_stddev"};
  for (std::size_t i = 0; i < 6; ++i) CHECK(rw[i].name() == renorm_names[i]);
  CHECK(renorm->moving_stddev().value().to_vector() == std::vector<double>{2, 2, 2});
  CHECK(renorm->renorm_stddev().value().to_vector() == std::vector<double>{2, 2, 2});
  CHECK(renorm->renorm_mean().value().to_vector() == std::vector<double>{0.5, 0.5, 0.5});

  auto list = BatchNormalization({.axis = {1, 2}});
  (*list)(Tensor::ones({2, 3, 5, 4}));
  CHECK(list->gamma().shape() == Shape{3, 5});
  CHECK(list->moving_variance().shape() == Shape{3, 5});
}

TEST_CASE("BatchNormalization training uses the biased batch statistics and moves the averages", "[bn-layer]") {
  const double eps = 1e-3, m = 0.9;
  auto bn = BatchNormalization({.momentum = m, .epsilon = eps});
  Tensor y = (*bn)(rows(), true);
  require_close(y, normalized_rows(kRows, 2, {3, 6}, {8.0 / 3, 32.0 / 3}, eps), 1e-6);
  // three steps against the hand-written recurrence.
  std::vector<double> mm = {0, 0}, mv = {1, 1};
  auto step = [&](const std::vector<double>& mean, const std::vector<double>& var) {
    for (int c = 0; c < 2; ++c) {
      mm[c] = mm[c] * m + mean[c] * (1 - m);
      mv[c] = mv[c] * m + var[c] * (1 - m);
    }
  };
  step({3, 6}, {8.0 / 3, 32.0 / 3});
  (*bn)(rows() + 1.0, true);
  step({4, 7}, {8.0 / 3, 32.0 / 3});
  (*bn)(rows() * 2.0, true);
  step({6, 12}, {32.0 / 3, 128.0 / 3});
  require_close(bn->moving_mean().value(), mm, 1e-6, "moving_mean");
  require_close(bn->moving_variance().value(), mv, 1e-6, "moving_variance");
  // Inference (and a plain call) uses the moving statistics and changes nothing.
  require_close((*bn)(rows()), normalized_rows(kRows, 2, mm, mv, eps), 1e-6, "inference");
  require_close(bn->moving_mean().value(), mm, 1e-6);
}

TEST_CASE("BatchNormalization with momentum 0 infers what it trained on, fresh statistics differ", "[bn-layer]") {
  auto bn = BatchNormalization({.momentum = 0});
  Tensor fresh = (*bn)(rows(), false);
  Tensor trained = (*bn)(rows(), true);
  require_close((*bn)(rows(), false), trained.to_vector(), 1e-6);
  CHECK(std::abs(fresh.to_vector()[0] - trained.to_vector()[0]) > 0.1);
}

TEST_CASE("A frozen BatchNormalization runs in inference mode and leaves every weight bitwise unchanged",
          "[bn-layer]") {
  for (bool renorm : {false, true}) {
    auto bn = BatchNormalization({.gamma_initializer = keel::initializers::Constant{2},
                                  .moving_mean_initializer = keel::initializers::Constant{1},
                                  .moving_variance_initializer = keel::initializers::Constant{4}, .renorm = renorm});
    (*bn)(rows(), true);  // moves the statistics away from their initial values
    auto before = bn->get_weights();
    Tensor inference = (*bn)(rows(), false);
    bn->set_trainable(false);
    keel::layers::StateUpdates staged;
    Tensor frozen = (*bn)(rows(), CallContext{.training = true, .staged = &staged});
    CHECK(staged.pending.empty());
    CHECK(frozen.to_vector() == inference.to_vector());
    auto after = bn->get_weights();
    REQUIRE(after.size() == before.size());
    for (std::size_t i = 0; i < after.size(); ++i) CHECK(after[i].to_vector() == before[i].to_vector());
    bn->set_trainable(true);  // read at call time: training again at once
    (*bn)(rows(), true);
    CHECK(bn->moving_mean().value().to_vector() != before[2].to_vector());
  }
}

TEST_CASE("BatchNormalization with one value per channel outputs beta and warns once", "[bn-layer]") {
  keel::test::StderrCapture capture;
  auto bn = BatchNormalization({.beta_initializer = keel::initializers::Constant{0.5}}, "single");
  Tensor x = Tensor::from_vector({3, -7, 11}, {1, 3});
  CHECK((*bn)(x, true).to_vector() == std::vector<double>{0.5, 0.5, 0.5});
  (*bn)(x, true);
  require_close(bn->moving_mean().value(), {0.99 * 0.03 + 0.01 * 3, 0.99 * -0.07 + 0.01 * -7, 0.99 * 0.11 + 0.01 * 11}, 1e-6);
  require_close(bn->moving_variance().value(), {0.99 * 0.99, 0.99 * 0.99, 0.99 * 0.99}, 1e-6);
  auto conv = BatchNormalization({.beta_initializer = keel::initializers::Constant{0.25}}, "single4d");
  CHECK((*conv)(Tensor::from_vector({4, 5}, {1, 1, 1, 2}), true).to_vector() == std::vector<double>{0.25, 0.25});
  std::string text = capture.text();
  const std::string warning = "BatchNormalization 'single': one value per channel in training mode; its output is beta";
  CHECK(keel::test::StderrCapture::count(text, warning) == 1);
  CHECK(keel::test::StderrCapture::count(text, "'single4d': one value per channel") == 1);
}

TEST_CASE("A constant channel gives exactly beta, with eps 0 too, and a huge eps stays finite", "[bn-layer]") {
  for (double eps : {1e-3, 0.0}) {
    auto bn = BatchNormalization({.epsilon = eps, .beta_initializer = keel::initializers::Constant{-1.5},
                                  .gamma_initializer = keel::initializers::Constant{3}});
    // Channel 0 at the 1e6 offset, channel 1 at 0.1 (not exact in binary).
    Tensor x = Tensor::from_vector({1e6, 0.1, 1e6, 0.1, 1e6, 0.1, 1e6, 0.1}, {4, 2});
    Tensor y = (*bn)(x, true);
    for (double v : y.to_vector()) CHECK(v == -1.5);
    require_close(bn->moving_variance().value(), {0.99, 0.99}, 1e-7);  // batch variance 0
  }
  auto big = BatchNormalization({.epsilon = 1e3});
  Tensor y = (*big)(rows(), true);
  require_close(y, normalized_rows(kRows, 2, {3, 6}, {8.0 / 3, 32.0 / 3}, 1e3), 1e-6);
}

TEST_CASE("BatchNormalization computes in float64 throughout", "[bn-layer]") {
  auto bn = BatchNormalization({.momentum = 0.5});
  bn->set_dtype(keel::DType::float64);
  Tensor y = (*bn)(rows(keel::DType::float64), true);
  CHECK(y.dtype() == keel::DType::float64);
  CHECK(bn->moving_mean().dtype() == keel::DType::float64);
  require_close(y, normalized_rows(kRows, 2, {3, 6}, {8.0 / 3, 32.0 / 3}, 1e-3), 1e-14);
  require_close(bn->moving_variance().value(), {0.5 + 0.5 * 8.0 / 3, 0.5 + 0.5 * 32.0 / 3}, 1e-15);
}

TEST_CASE("BatchNormalization options().trainable follows set_trainable", "[bn-layer]") {
  auto bn = BatchNormalization({.trainable = false});
  CHECK_FALSE(bn->trainable());
  CHECK_FALSE(bn->options().trainable);
  bn->set_trainable(true);
  CHECK(bn->options().trainable);
  bn->set_trainable(false);
  CHECK_FALSE(bn->options().trainable);
  CHECK(BatchNormalizationLayer::from_config(bn->get_config())->options().trainable == false);
}

TEST_CASE("Inside fit the moving-statistics update is staged until the step commits", "[bn-layer]") {
  auto bn = BatchNormalization({.momentum = 0.5, .renorm = true});
  keel::layers::StateUpdates staged;
  (*bn)(rows(), CallContext{.training = true, .staged = &staged});
  CHECK(bn->moving_mean().value().to_vector() == std::vector<double>{0, 0});
  CHECK(staged.pending.size() == 5);
  staged.commit();
  require_close(bn->moving_mean().value(), {1.5, 3}, 1e-7);
}

TEST_CASE("center=false and scale=false drop beta and gamma", "[bn-layer]") {
  auto bn = BatchNormalization({.center = false, .scale = false});
  Tensor y = (*bn)(rows(), true);
  CHECK(bn->weights().size() == 2);
  CHECK(bn->count_params() == 4);
  require_close(y, normalized_rows(kRows, 2, {3, 6}, {8.0 / 3, 32.0 / 3}, 1e-3), 1e-6);
}
