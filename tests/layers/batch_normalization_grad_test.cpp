// BatchNormalization gradients and path agreement: gradcheck of the training-mode function in float64
// (statistics reset between evaluations), fast kernel op vs composed ops, layouts.
#include <catch2/catch.hpp>

#include <cmath>

#include "batch_normalization_test_support.h"
#include "keel/autograd/engine.h"
#include "keel/autograd/gradcheck.h"
#include "keel/autograd/ops.h"
#include "keel/core/random.h"
#include "keel/layers/batch_normalization_functional.h"
#include "keel/layers/detail/batch_norm_step.h"

using keel::Shape;
using keel::Tensor;
using keel::layers::BatchNormalizationOptions;
using keel::layers::BatchNormState;
using keel::test::require_close;

namespace {
constexpr keel::DType f64 = keel::DType::float64;

// Reproducible values: a smooth pseudo-random pattern with a per-position offset.
Tensor pattern(const Shape& shape, double scale, double offset, keel::DType dtype = f64, double seed = 1) {
  std::vector<double> v(static_cast<std::size_t>(keel::checked_numel(shape)));
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = offset + scale * std::sin(seed * 12.9898 + 78.233 * static_cast<double>(i));
  return Tensor::from_vector(v, shape, dtype);
}

// A fresh state around given gamma and beta, rebuilt on every evaluation; the renorm statistics start far
// from the batch's, so r and d are not 1 and 0 (and d is clipped whenever dmax < 3).
BatchNormState fresh_state(const Tensor& gamma, const Tensor& beta, const Shape& shape, const BatchNormalizationOptions& o) {
  BatchNormState s;
  s.gamma = gamma;
  s.beta = beta;
  s.moving_mean = Tensor::zeros(shape, gamma.dtype());
  s.moving_variance = Tensor::ones(shape, gamma.dtype());
  if (o.renorm) {
    s.moving_stddev = Tensor::ones(shape, gamma.dtype());
    s.renorm_mean = Tensor::full(shape, 5.0, gamma.dtype());
    s.renorm_stddev = Tensor::full(shape, 1.4, gamma.dtype());
  }
  return s;
}

void check_gradients(const Shape& x_shape, const Shape& param_shape, BatchNormalizationOptions o, const Tensor& mask = {},
                     bool training = true) {
  o.momentum = 0;
  auto f = [&](const std::vector<Tensor>& in) {
    BatchNormState s = fresh_state(in[1], in[2], param_shape, o);
    return keel::batch_normalization(in[0], s, o, training, mask);
  };
  std::vector<Tensor> inputs = {pattern(x_shape, 1.5, 0.2), pattern(param_shape, 0.5, 1.0, f64, 2),
                                pattern(param_shape, 0.5, 0.1, f64, 3)};
  for (bool noncontiguous : {false, true}) {
    keel::GradcheckResult r = keel::gradcheck(f, inputs, {.noncontiguous = noncontiguous});
    INFO(r.message);
    CHECK(r.ok);
  }
}

}  // namespace

TEST_CASE("BatchNormalization training gradients match finite differences for x, gamma and beta", "[bn-grad]") {
  SECTION("rank 2, fast kernel op") { check_gradients({5, 3}, {3}, {}); }
  SECTION("rank 4 NCHW, fast kernel op") { check_gradients({2, 3, 2, 2}, {3}, {.axis = {1}}); }
  // r and d are constants for the gradient; the finite differences see constants too when both are
  // clipped (r pinned by rmin = rmax, d beyond dmax since renorm_mean is 5).
  const keel::layers::RenormClipping pinned{.rmax = 1.2, .rmin = 1.2, .dmax = 0.5};
  SECTION("renorm with r and d constant") { check_gradients({6, 2}, {2}, {.renorm = true, .renorm_clipping = pinned}); }
  SECTION("ghost batches") { check_gradients({6, 2}, {2}, {.virtual_batch_size = 3}); }
  SECTION("ghost batches with renorm") {
    check_gradients({6, 2}, {2}, {.renorm = true, .renorm_clipping = pinned, .virtual_batch_size = 2});
  }
  SECTION("mask") {
    Tensor mask = Tensor::from_vector({1, 0, 1, 1, 1, 0}, {3, 2}, keel::DType::boolean);
    check_gradients({3, 2, 2}, {2}, {}, mask);
  }
  SECTION("axis list") { check_gradients({3, 2, 2, 2}, {2, 2}, {.axis = {1, 3}}); }
  SECTION("adjustment") {
    check_gradients({4, 3}, {3}, {.adjustment = [](const Shape&) {
                                    return std::pair{Tensor::from_vector({1.5, 0.5, 2}, {3}, f64), Tensor::scalar(0.25, f64)};
                                  }});
  }
  SECTION("inference mode") { check_gradients({4, 3}, {3}, {}, {}, false); }
  SECTION("inference mode, axis list") { check_gradients({3, 2, 2}, {2, 2}, {.axis = {1, 2}}, {}, false); }
}

TEST_CASE("The gradient of x sums to zero per channel in training mode", "[bn-grad]") {
  BatchNormalizationOptions o;
  auto state = keel::make_batch_norm_state({8, 3}, o, f64);
  Tensor x = keel::set_requires_grad(pattern({8, 3}, 2, 5));
  Tensor y = keel::batch_normalization(x, state, o, true);
  keel::backward(keel::ops::sum(y * pattern({8, 3}, 1, 0.3, f64, 9)));
  std::vector<double> g = keel::grad(x).to_vector(), sums(3, 0);
  for (std::size_t i = 0; i < g.size(); ++i) sums[i % 3] += g[i];
  for (double s : sums) CHECK(std::abs(s) < 1e-12);
}

namespace {

struct PathResult {
  std::vector<double> y, gx, ggamma, gbeta, mean, var;
};

// Runs one training path on x (any layout) with upstream gradient `seed`, returning outputs and grads.
template <class Run>
PathResult run_path(const Tensor& x_in, const Tensor& seed, std::int64_t channels, keel::DType dtype, Run run) {
  Tensor x = keel::set_requires_grad(x_in.clone());
  Tensor gamma = keel::set_requires_grad(pattern({channels}, 0.4, 1, dtype, 4));
  Tensor beta = keel::set_requires_grad(pattern({channels}, 0.4, 0, dtype, 5));
  keel::layers::detail::BatchNormTraining t = run(x, gamma, beta);
  keel::backward(keel::ops::sum(t.output * seed));
  return {t.output.to_vector(), keel::grad(x).to_vector(), keel::grad(gamma).to_vector(), keel::grad(beta).to_vector(),
          t.stats.mean, t.stats.var};
}

void require_same(const PathResult& a, const PathResult& b, double tol) {
  require_close(a.y, b.y, tol, "output");
  require_close(a.gx, b.gx, tol, "grad x");
  require_close(a.ggamma, b.ggamma, tol, "grad gamma");
  require_close(a.gbeta, b.gbeta, tol, "grad beta");
  require_close(a.mean, b.mean, tol, "batch mean");
  require_close(a.var, b.var, tol, "batch variance");
}

}  // namespace

TEST_CASE("The fast kernel op and the composed ops agree to float rounding", "[bn-grad]") {
  for (keel::DType dtype : {keel::DType::float32, f64}) {
    for (bool renorm : {false, true}) {
      BatchNormalizationOptions o{.epsilon = 1e-3, .renorm = renorm};
      const double tol = dtype == f64 ? 1e-12 : 2e-5;
      for (std::int64_t axis : {1, 3}) {
        const Shape shape = {3, 4, 5, 6};
        const std::int64_t c = shape[static_cast<std::size_t>(axis)];
        Tensor x = pattern(shape, 2, 10, dtype, 6);
        Tensor seed = pattern(shape, 1, 0, dtype, 7);
        auto state_for = [&](const Tensor& g, const Tensor& b) {
          BatchNormState s = fresh_state(g, b, {c}, o);
          return s;
        };
        PathResult fast = run_path(x, seed, c, dtype, [&](const Tensor& xx, const Tensor& g, const Tensor& b) {
          return keel::layers::detail::batch_norm_training_fast(xx, axis, state_for(g, b), o);
        });
        PathResult composed = run_path(x, seed, c, dtype, [&](const Tensor& xx, const Tensor& g, const Tensor& b) {
          return keel::layers::detail::batch_norm_training_composed(xx, {}, {axis}, state_for(g, b), o, "test");
        });
        INFO("dtype " << keel::dtype_name(dtype) << " renorm " << renorm << " axis " << axis);
        require_same(fast, composed, tol);
      }
    }
  }
}

TEST_CASE("NHWC and NCHW, contiguous and permuted inputs agree forward and backward", "[bn-grad]") {
  for (keel::DType dtype : {keel::DType::float32, f64}) {
    const double tol = dtype == f64 ? 1e-12 : 2e-5;
    BatchNormalizationOptions nhwc{.axis = {-1}}, nchw{.axis = {1}};
    Tensor x_nhwc = pattern({2, 3, 4, 5}, 3, -2, dtype, 8);
    Tensor seed_nhwc = pattern({2, 3, 4, 5}, 1, 0, dtype, 9);
    auto run = [&](const Tensor& x, const Tensor& seed, const BatchNormalizationOptions& o) {
      return run_path(x, seed, 5, dtype, [&](const Tensor& xx, const Tensor& g, const Tensor& b) {
        BatchNormState s = fresh_state(g, b, {5}, o);
        keel::layers::detail::BatchNormTraining t;
        t.output = keel::batch_normalization(xx, s, o, true);
        return t;
      });
    };
    PathResult a = run(x_nhwc, seed_nhwc, nhwc);
    // The same values stored NCHW (contiguous), and the NCHW layout seen through a permuted view.
    Tensor x_nchw = x_nhwc.permute({0, 3, 1, 2}).contiguous(), seed_nchw = seed_nhwc.permute({0, 3, 1, 2}).contiguous();
    PathResult b = run(x_nchw, seed_nchw, nchw);
    PathResult permuted = run(x_nchw.permute({0, 2, 3, 1}), seed_nhwc, nhwc);
    // Compare b in NHWC order.
    auto to_nhwc = [](const std::vector<double>& v, keel::DType dt) {
      return Tensor::from_vector(v, {2, 5, 3, 4}, dt).permute({0, 2, 3, 1}).to_vector();
    };
    require_close(to_nhwc(b.y, dtype), a.y, tol, "NCHW output");
    require_close(to_nhwc(b.gx, dtype), a.gx, tol, "NCHW grad x");
    require_close(b.ggamma, a.ggamma, tol);
    require_close(b.gbeta, a.gbeta, tol);
    require_close(permuted.y, a.y, tol, "permuted output");
    require_close(permuted.gx, a.gx, tol, "permuted grad x");
    require_close(permuted.ggamma, a.ggamma, tol);
  }
}

TEST_CASE("BatchNormalization stays accurate at large offsets in float32", "[bn-grad]") {
  // [64, 32, 32, 4], 65,536 values per channel, x = offset + N(0, 1).
  const Shape shape = {64, 32, 32, 4};
  const double eps = 1e-3;
  Tensor noise = keel::random::normal(shape, 0, 1, 41, f64);
  for (double offset : {1e4, 1e5, 1e6, 1e7}) {
    Tensor x = (noise + offset).to(keel::DType::float32);
    BatchNormalizationOptions o{.epsilon = eps};
    auto state = keel::make_batch_norm_state(shape, o);
    std::vector<double> y = keel::batch_normalization(x, state, o, true).to_vector(), xv = x.to_vector();
    for (int c = 0; c < 4; ++c) {
      double xm = 0, ym = 0;
      for (std::size_t i = c; i < xv.size(); i += 4) {
        xm += xv[i];
        ym += y[i];
        REQUIRE(std::isfinite(y[i]));
      }
      const double n = static_cast<double>(xv.size() / 4);
      xm /= n;
      ym /= n;
      double v = 0, ys = 0;
      for (std::size_t i = c; i < xv.size(); i += 4) {
        v += (xv[i] - xm) * (xv[i] - xm);
        ys += (y[i] - ym) * (y[i] - ym);
      }
      v /= n;
      ys = std::sqrt(ys / n);
      INFO("offset " << offset << " channel " << c << " output mean " << ym << " std " << ys);
      CHECK(state.moving_variance.to_vector()[static_cast<std::size_t>(c)] >= 0);
      if (offset >= 1e7) continue;  // spacing 1: finite output is all that is asked
      CHECK(std::abs(ym) <= (offset >= 1e6 ? 5e-2 : 1e-2));
      CHECK(std::abs(ys - std::sqrt(v / (v + eps))) <= 1e-2);
    }
  }
}
