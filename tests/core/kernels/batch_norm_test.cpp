// BatchNormalization kernels against references computed here in long double from the formulas of
// docs/semantics.md §1.3–§1.6 (never from the kernels' own output).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "keel/core/error.h"
#include "keel/core/kernels/batch_norm.h"
#include "keel/core/kernels/simd.h"
#include "keel/core/moments.h"
#include "keel/core/parallel.h"
#include "core/kernels/kernel_test_support.h"

namespace {

using keel::kernels::ChannelLayout;
using LD = long double;

std::size_t numel(const ChannelLayout& l) { return static_cast<std::size_t>(l.outer * l.channels * l.inner); }
std::size_t at(const ChannelLayout& l, std::int64_t o, std::int64_t c, std::int64_t i) {
  return static_cast<std::size_t>((o * l.channels + c) * l.inner + i);
}

template <class T>
std::vector<T> normal(std::size_t n, double mean, double stddev, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> nd(mean, stddev);
  std::vector<T> v(n);
  for (auto& e : v) e = static_cast<T>(nd(rng));
  return v;
}

struct RefStats {
  std::vector<LD> mean, var;
};

// Two-pass moments per channel in long double.
template <class T>
RefStats ref_moments(const ChannelLayout& l, const std::vector<T>& x) {
  RefStats s{std::vector<LD>(l.channels, 0), std::vector<LD>(l.channels, 0)};
  const LD n = static_cast<LD>(l.outer * l.inner);
  for (std::int64_t c = 0; c < l.channels; ++c) {
    for (std::int64_t o = 0; o < l.outer; ++o)
      for (std::int64_t i = 0; i < l.inner; ++i) s.mean[c] += x[at(l, o, c, i)];
    s.mean[c] /= n;
    for (std::int64_t o = 0; o < l.outer; ++o)
      for (std::int64_t i = 0; i < l.inner; ++i) s.var[c] += std::pow(x[at(l, o, c, i)] - s.mean[c], 2);
    s.var[c] /= n;
  }
  return s;
}

LD ref_invstd(LD var, LD eps) { return var + eps == 0 ? 0 : 1 / std::sqrt(var + eps); }

// y = ((x - mean)·invstd·r + d)·gamma + beta with the batch statistics; empty gamma/beta/r/d mean 1/0/1/0.
template <class T>
std::vector<LD> ref_forward(const ChannelLayout& l, const std::vector<T>& x, const std::vector<T>& gamma,
                            const std::vector<T>& beta, LD eps, const std::vector<double>& r = {},
                            const std::vector<double>& d = {}) {
  RefStats s = ref_moments(l, x);
  std::vector<LD> y(x.size());
  for (std::int64_t o = 0; o < l.outer; ++o)
    for (std::int64_t c = 0; c < l.channels; ++c)
      for (std::int64_t i = 0; i < l.inner; ++i) {
        LD xhat = (x[at(l, o, c, i)] - s.mean[c]) * ref_invstd(s.var[c], eps);
        LD v = xhat * (r.empty() ? 1 : r[c]) + (d.empty() ? 0 : d[c]);
        y[at(l, o, c, i)] = v * (gamma.empty() ? 1 : gamma[c]) + (beta.empty() ? 0 : beta[c]);
      }
  return y;
}

struct RefGrads {
  std::vector<LD> dx, dgamma, dbeta, dgamma_abs;  // dgamma_abs: Σ|dy·(x̂r+d)|, the scale of dgamma's rounding
};

// Full batch-norm backprop written out from the chain rule through mean and var.
template <class T>
RefGrads ref_backward(const ChannelLayout& l, const std::vector<T>& dy, const std::vector<T>& x,
                      const std::vector<T>& gamma, LD eps, const std::vector<double>& r = {},
                      const std::vector<double>& d = {}) {
  RefStats s = ref_moments(l, x);
  const LD n = static_cast<LD>(l.outer * l.inner);
  RefGrads g{std::vector<LD>(x.size()), std::vector<LD>(l.channels), std::vector<LD>(l.channels),
             std::vector<LD>(l.channels)};
  for (std::int64_t c = 0; c < l.channels; ++c) {
    LD inv = ref_invstd(s.var[c], eps), rc = r.empty() ? 1 : r[c], dc = d.empty() ? 0 : d[c];
    LD sdy = 0, sdyx = 0;
    for (std::int64_t o = 0; o < l.outer; ++o)
      for (std::int64_t i = 0; i < l.inner; ++i) {
        std::size_t k = at(l, o, c, i);
        LD xhat = (x[k] - s.mean[c]) * inv;
        sdy += dy[k];
        sdyx += dy[k] * xhat;
        g.dgamma_abs[c] += std::fabs(dy[k] * (xhat * rc + dc));
      }
    g.dbeta[c] = sdy;
    g.dgamma[c] = rc * sdyx + dc * sdy;
    LD a = (gamma.empty() ? 1 : gamma[c]) * rc * inv;
    for (std::int64_t o = 0; o < l.outer; ++o)
      for (std::int64_t i = 0; i < l.inner; ++i) {
        std::size_t k = at(l, o, c, i);
        LD xhat = (x[k] - s.mean[c]) * inv;
        g.dx[k] = a * (dy[k] - sdy / n - xhat * sdyx / n);
      }
  }
  return g;
}

// |got - want| <= tol·(1 + |want|) for every element (reported at the worst one).
template <class T, class R>
void require_close(const std::vector<T>& got, const std::vector<R>& want, double tol) {
  REQUIRE(got.size() == want.size());
  std::size_t worst = 0;
  LD worst_ratio = -1;
  for (std::size_t k = 0; k < got.size(); ++k) {
    LD err = std::fabs(static_cast<LD>(got[k]) - static_cast<LD>(want[k]));
    LD ratio = err / (1 + std::fabs(static_cast<LD>(want[k])));
    if (!(ratio <= worst_ratio)) {  // NaN counts as worst
      worst_ratio = ratio;
      worst = k;
      if (std::isnan(ratio)) break;
    }
  }
  if (got.empty()) return;
  INFO("worst element " << worst << ": got " << got[worst] << ", want " << static_cast<double>(want[worst]));
  REQUIRE(worst_ratio <= tol);
}

template <class T>
double tol_of() {
  return std::is_same_v<T, float> ? 2e-5 : 1e-12;
}

struct Outputs {
  std::vector<double> mean, var, invstd;
};

template <class T>
Outputs forward(const ChannelLayout& l, const std::vector<T>& x, const std::vector<T>& gamma,
                const std::vector<T>& beta, double eps, std::vector<T>& y) {
  Outputs s{std::vector<double>(l.channels), std::vector<double>(l.channels), std::vector<double>(l.channels)};
  y.assign(x.size(), T(0));
  keel::kernels::batch_norm_forward_training<T>(l, x.data(), gamma.empty() ? nullptr : gamma.data(),
                                                beta.empty() ? nullptr : beta.data(), eps, y.data(), s.mean.data(),
                                                s.var.data(), s.invstd.data());
  return s;
}

// Layouts chosen to cross every walk's edges: narrow and wide rows, several column tiles, fold tails,
// row chunks, planes shorter and longer than a segment.
const std::vector<ChannelLayout> kLayouts = {
    {7, 3, 1},  {300, 32, 1}, {2500, 5, 1}, {9000, 32, 1}, {40, 300, 1}, {33, 20, 20},
    {5, 7, 3},  {6, 4, 32},   {9, 3, 50},   {3, 2, 5000},  {64, 2, 1}};

}  // namespace

TEST_CASE("batch_norm forward training matches the formulas on a hand-computed case", "[bn-kernel]") {
  // Channel 0 holds 1, 2, 3, 4: mean 2.5, biased variance 1.25. Channel 1 holds 10, 10, 10, 14: mean 11, var 3.
  ChannelLayout l{4, 2, 1};
  std::vector<double> x = {1, 10, 2, 10, 3, 10, 4, 14}, gamma = {2, 1}, beta = {0.5, -1}, y;
  Outputs s = forward(l, x, gamma, beta, 0.0, y);
  CHECK(s.mean[0] == 2.5);
  CHECK(s.mean[1] == 11);
  CHECK(s.var[0] == 1.25);
  CHECK(s.var[1] == 3);
  CHECK(y[0] == Approx(2 * -1.5 / std::sqrt(1.25) + 0.5).epsilon(1e-14));
  CHECK(y[7] == Approx(3 / std::sqrt(3.0) - 1).epsilon(1e-14));
  CHECK(y[1] == Approx(-1 / std::sqrt(3.0) - 1).epsilon(1e-14));
}

TEMPLATE_TEST_CASE("batch_norm forward, moments and inference match long-double references on many layouts",
                   "[bn-kernel]", float, double) {
  unsigned seed = 1;
  for (const ChannelLayout& l : kLayouts) {
    INFO("layout [" << l.outer << ", " << l.channels << ", " << l.inner << "]");
    auto x = normal<TestType>(numel(l), 3.0, 2.0, seed++);
    auto gamma = normal<TestType>(l.channels, 1.0, 0.5, seed++);
    auto beta = normal<TestType>(l.channels, 0.0, 1.0, seed++);
    std::vector<TestType> y;
    Outputs s = forward(l, x, gamma, beta, 1e-3, y);
    RefStats ref = ref_moments(l, x);
    // Block sums run in T, so float inputs give statistics to float precision.
    const double stat_tol = std::is_same_v<TestType, float> ? 1e-6 : 1e-13;
    require_close(s.mean, ref.mean, stat_tol);
    require_close(s.var, ref.var, stat_tol);
    require_close(y, ref_forward(l, x, gamma, beta, 1e-3L), tol_of<TestType>());
    forward(l, x, {}, {}, 1e-3, y);  // scale=false, center=false
    require_close(y, ref_forward<TestType>(l, x, {}, {}, 1e-3L), tol_of<TestType>());

    // Inference with moving statistics.
    auto mm = normal<TestType>(l.channels, 3.0, 1.0, seed++);
    auto mv = normal<TestType>(l.channels, 0.0, 1.0, seed++);
    for (auto& v : mv) v = std::fabs(v) + TestType(0.1);
    keel::kernels::batch_norm_inference<TestType>(l, x.data(), gamma.data(), beta.data(), mm.data(), mv.data(), 1e-3,
                                                  y.data());
    std::vector<LD> want(x.size());
    for (std::int64_t o = 0; o < l.outer; ++o)
      for (std::int64_t c = 0; c < l.channels; ++c)
        for (std::int64_t i = 0; i < l.inner; ++i)
          want[at(l, o, c, i)] = (x[at(l, o, c, i)] - LD(mm[c])) / std::sqrt(LD(mv[c]) + 1e-3L) * gamma[c] + beta[c];
    require_close(y, want, tol_of<TestType>());
  }
}

TEST_CASE("batch_norm inference and normalize stream a large pass's output to memory, with the same values",
          "[bn-kernel]") {
  // [70000, 32] float32: each pass moves 17.9 MB (x in, y out), so y is written with streaming stores
  // (simd.h's kStreamBytes). y starts as garbage.
  const ChannelLayout l{70000, 32, 1};
  REQUIRE(2 * numel(l) * sizeof(float) >= std::size_t(keel::kernels::kStreamBytes));
  auto x = normal<float>(numel(l), 3.0, 2.0, 31);
  auto gamma = normal<float>(32, 1.0, 0.5, 32), beta = normal<float>(32, 0.0, 1.0, 33);
  auto mm = normal<float>(32, 3.0, 1.0, 34), mv = normal<float>(32, 2.0, 0.1, 35);
  keel_test::AlignedValues<float> y(numel(l), 7.0f);
  keel::kernels::batch_norm_inference<float>(l, x.data(), gamma.data(), beta.data(), mm.data(), mv.data(), 1e-3,
                                             y.data());
  std::vector<LD> want(x.size());
  for (std::int64_t o = 0; o < l.outer; ++o)
    for (std::int64_t c = 0; c < l.channels; ++c)
      want[at(l, o, c, 0)] = (x[at(l, o, c, 0)] - LD(mm[c])) / std::sqrt(LD(mv[c]) + 1e-3L) * gamma[c] + beta[c];
  require_close(y.values(), want, tol_of<float>());

  keel_test::AlignedValues<float> y_train(numel(l), 7.0f);
  std::vector<double> mean(32), var(32), invstd(32);
  keel::kernels::batch_norm_forward_training<float>(l, x.data(), gamma.data(), beta.data(), 1e-3, y_train.data(),
                                                    mean.data(), var.data(), invstd.data());
  require_close(y_train.values(), ref_forward(l, x, gamma, beta, 1e-3L), tol_of<float>());
}

TEMPLATE_TEST_CASE("batch_norm normalize applies given statistics with renorm r and d", "[bn-kernel]", float,
                   double) {
  ChannelLayout l{50, 6, 3};
  auto x = normal<TestType>(numel(l), -2.0, 3.0, 11);
  auto gamma = normal<TestType>(6, 1.0, 0.3, 12), beta = normal<TestType>(6, 0.0, 1.0, 13);
  std::vector<double> r = {0.5, 1, 2, 3, 0.9, 1.1}, d = {-1, 0, 0.5, 2, -0.25, 0};
  RefStats ref = ref_moments(l, x);
  std::vector<double> mean(6), invstd(6);
  for (int c = 0; c < 6; ++c) {
    mean[c] = static_cast<double>(ref.mean[c]);
    invstd[c] = static_cast<double>(ref_invstd(ref.var[c], 1e-3L));
  }
  std::vector<TestType> y(x.size());
  keel::kernels::batch_norm_normalize<TestType>(l, x.data(), mean.data(), invstd.data(), gamma.data(), beta.data(),
                                                r.data(), d.data(), y.data());
  require_close(y, ref_forward(l, x, gamma, beta, 1e-3L, r, d), tol_of<TestType>());
}

TEMPLATE_TEST_CASE("batch_norm backward matches the chain-rule reference on many layouts", "[bn-kernel]", float,
                   double) {
  unsigned seed = 100;
  for (const ChannelLayout& l : kLayouts) {
    INFO("layout [" << l.outer << ", " << l.channels << ", " << l.inner << "]");
    auto x = normal<TestType>(numel(l), 1.0, 2.0, seed++);
    auto dy = normal<TestType>(numel(l), 0.0, 1.0, seed++);
    auto gamma = normal<TestType>(l.channels, 1.0, 0.5, seed++);
    std::vector<double> r(l.channels), d(l.channels);
    for (std::int64_t c = 0; c < l.channels; ++c) {
      r[c] = 0.5 + 0.1 * static_cast<double>(c % 7);
      d[c] = -0.3 + 0.2 * static_cast<double>(c % 4);
    }
    for (bool renorm : {false, true}) {
      std::vector<TestType> y, dx(x.size()), dgamma(l.channels), dbeta(l.channels);
      Outputs s = forward(l, x, gamma, {}, 1e-3, y);
      keel::kernels::batch_norm_backward<TestType>(l, dy.data(), x.data(), s.mean.data(), s.invstd.data(),
                                                   gamma.data(), renorm ? r.data() : nullptr,
                                                   renorm ? d.data() : nullptr, dx.data(), dgamma.data(), dbeta.data());
      RefGrads g = renorm ? ref_backward(l, dy, x, gamma, 1e-3L, r, d) : ref_backward(l, dy, x, gamma, 1e-3L);
      // dx is O(gamma·invstd·|dy|) ~ 1; the sums are compared against the sum of their terms' magnitudes.
      require_close(dx, g.dx, std::is_same_v<TestType, float> ? 1e-4 : 1e-11);
      const double sum_tol = std::is_same_v<TestType, float> ? 1e-5 : 1e-13;
      for (std::int64_t c = 0; c < l.channels; ++c) {
        CHECK(std::fabs(dgamma[c] - g.dgamma[c]) <= sum_tol * (1 + g.dgamma_abs[c]));
        CHECK(std::fabs(dbeta[c] - g.dbeta[c]) <= sum_tol * (1 + g.dgamma_abs[c] + static_cast<LD>(l.outer * l.inner)));
      }
    }
  }
}

TEST_CASE("batch_norm backward matches finite differences of the pure training function", "[bn-kernel]") {
  // L(x, gamma, beta) = Σ w·y(x, gamma, beta), y from the long-double reference forward; dy = w.
  for (ChannelLayout l : {ChannelLayout{5, 3, 1}, ChannelLayout{3, 2, 4}}) {
    auto x = normal<double>(numel(l), 0.5, 1.5, 7), w = normal<double>(numel(l), 0.0, 1.0, 8);
    std::vector<double> gamma = {1.5, -0.7, 0.9}, beta = {0.1, 0.2, -0.3};
    gamma.resize(l.channels);
    beta.resize(l.channels);
    const LD eps = 1e-3L, h = 1e-5L;
    auto loss = [&](const std::vector<double>& xs, const std::vector<double>& g, const std::vector<double>& b) {
      auto y = ref_forward(l, xs, g, b, eps);
      LD s = 0;
      for (std::size_t k = 0; k < y.size(); ++k) s += w[k] * y[k];
      return s;
    };
    auto central = [&](auto& v, std::size_t k, auto eval) {
      double keep = v[k];
      v[k] = keep + static_cast<double>(h);
      LD up = eval();
      v[k] = keep - static_cast<double>(h);
      LD down = eval();
      v[k] = keep;
      return (up - down) / (2 * h);
    };
    std::vector<double> y, dx(x.size()), dgamma(l.channels), dbeta(l.channels);
    Outputs s = forward(l, x, gamma, beta, static_cast<double>(eps), y);
    keel::kernels::batch_norm_backward<double>(l, w.data(), x.data(), s.mean.data(), s.invstd.data(), gamma.data(),
                                               nullptr, nullptr, dx.data(), dgamma.data(), dbeta.data());
    for (std::size_t k = 0; k < x.size(); ++k)
      CHECK(dx[k] == Approx(static_cast<double>(central(x, k, [&] { return loss(x, gamma, beta); }))).margin(1e-7));
    for (std::size_t c = 0; c < gamma.size(); ++c) {
      CHECK(dgamma[c] ==
            Approx(static_cast<double>(central(gamma, c, [&] { return loss(x, gamma, beta); }))).margin(1e-7));
      CHECK(dbeta[c] == Approx(static_cast<double>(central(beta, c, [&] { return loss(x, gamma, beta); }))).margin(1e-7));
    }
    // grad_x sums to ~0 per channel (the mean's gradient removes it).
    for (std::int64_t c = 0; c < l.channels; ++c) {
      double sum = 0;
      for (std::int64_t o = 0; o < l.outer; ++o)
        for (std::int64_t i = 0; i < l.inner; ++i) sum += dx[at(l, o, c, i)];
      CHECK(std::fabs(sum) < 1e-12);
    }
  }
}

TEST_CASE("batch_norm grad_x sums to about zero per channel in float", "[bn-kernel]") {
  ChannelLayout l{4096, 16, 1};
  auto x = normal<float>(numel(l), 5.0, 3.0, 21), dy = normal<float>(numel(l), 0.3, 1.0, 22);
  std::vector<float> gamma(16, 1.3f), y, dx(x.size());
  Outputs s = forward(l, x, gamma, {}, 1e-3, y);
  keel::kernels::batch_norm_backward<float>(l, dy.data(), x.data(), s.mean.data(), s.invstd.data(), gamma.data(),
                                            nullptr, nullptr, dx.data(), nullptr, nullptr);
  for (std::int64_t c = 0; c < l.channels; ++c) {
    double sum = 0, abs_sum = 0;
    for (std::int64_t o = 0; o < l.outer; ++o) {
      sum += dx[at(l, o, c, 0)];
      abs_sum += std::fabs(dx[at(l, o, c, 0)]);
    }
    CHECK(std::fabs(sum) < 1e-6 * abs_sum);
  }
}

TEST_CASE("batch_norm stays accurate at large offsets", "[bn-kernel]") {
  ChannelLayout l{64 * 32 * 32, 4, 1};  // [64, 32, 32, 4] NHWC: 65,536 values per channel
  const double eps = 1e-3;
  for (double offset : {1e4, 1e5, 1e6, 1e7}) {
    INFO("offset " << offset);
    std::mt19937_64 rng(static_cast<unsigned>(offset));
    std::normal_distribution<double> nd(0.0, 1.0);
    std::vector<float> x(numel(l)), y;
    for (auto& v : x) v = static_cast<float>(offset + nd(rng));
    Outputs s = forward(l, x, {}, {}, eps, y);
    RefStats ref = ref_moments(l, x);  // float64-or-wider variance of the float32 inputs
    for (std::int64_t c = 0; c < l.channels; ++c) {
      REQUIRE(std::isfinite(s.var[c]));
      REQUIRE(s.var[c] >= 0);
      double mean = 0, sq = 0;
      for (std::int64_t o = 0; o < l.outer; ++o) {
        REQUIRE(std::isfinite(y[at(l, o, c, 0)]));
        mean += y[at(l, o, c, 0)];
      }
      mean /= static_cast<double>(l.outer);
      for (std::int64_t o = 0; o < l.outer; ++o) sq += std::pow(y[at(l, o, c, 0)] - mean, 2);
      double stddev = std::sqrt(sq / static_cast<double>(l.outer));
      double v = static_cast<double>(ref.var[c]), want_std = std::sqrt(v / (v + eps));
      if (offset <= 1e5) {
        CHECK(std::fabs(mean) < 1e-2);
        CHECK(std::fabs(stddev - want_std) < 1e-2);
      } else if (offset == 1e6) {
        CHECK(std::fabs(mean) < 5e-2);
        CHECK(std::fabs(stddev - want_std) < 1e-2);
      }
    }
  }
}

TEMPLATE_TEST_CASE("batch_norm gives exactly beta for a constant channel, also with eps = 0", "[bn-kernel]", float,
                   double) {
  for (ChannelLayout l : {ChannelLayout{300, 3, 1}, ChannelLayout{4, 3, 100}}) {
    for (double eps : {1e-3, 0.0}) {
      std::vector<TestType> x(numel(l)), gamma = {2, 3, 4}, beta = {0.25, -1.5, 7}, y;
      auto noise = normal<TestType>(x.size(), 0.0, 1.0, 5);
      for (std::int64_t o = 0; o < l.outer; ++o)
        for (std::int64_t i = 0; i < l.inner; ++i) {
          x[at(l, o, 0, i)] = TestType(1e6);  // constant at a large offset
          x[at(l, o, 1, i)] = TestType(-3.5);
          x[at(l, o, 2, i)] = noise[at(l, o, 2, i)];
        }
      Outputs s = forward(l, x, gamma, beta, eps, y);
      CHECK(s.var[0] == 0);
      CHECK(s.var[1] == 0);
      CHECK(s.mean[0] == 1e6);
      for (std::int64_t o = 0; o < l.outer; ++o)
        for (std::int64_t i = 0; i < l.inner; ++i) {
          REQUIRE(y[at(l, o, 0, i)] == beta[0]);
          REQUIRE(y[at(l, o, 1, i)] == beta[1]);
          REQUIRE(std::isfinite(y[at(l, o, 2, i)]));
        }
      std::vector<TestType> dy = normal<TestType>(x.size(), 0.0, 1.0, 6), dx(x.size());
      keel::kernels::batch_norm_backward<TestType>(l, dy.data(), x.data(), s.mean.data(), s.invstd.data(),
                                                   gamma.data(), nullptr, nullptr, dx.data(), nullptr, nullptr);
      for (TestType v : dx) REQUIRE(std::isfinite(v));
    }
  }
}

TEST_CASE("batch_norm with a huge eps scales by 1/sqrt(eps) and stays finite", "[bn-kernel]") {
  ChannelLayout l{200, 2, 1};
  auto x = normal<float>(numel(l), 2.0, 1.0, 31);
  std::vector<float> gamma = {1.5f, -2.f}, beta = {0.5f, 1.f}, y;
  forward(l, x, gamma, beta, 1e3, y);
  require_close(y, ref_forward(l, x, gamma, beta, 1e3L), 2e-5);
  RefStats ref = ref_moments(l, x);
  for (std::int64_t o = 0; o < l.outer; ++o)
    for (std::int64_t c = 0; c < 2; ++c) {
      double approx = gamma[c] * (x[at(l, o, c, 0)] - static_cast<double>(ref.mean[c])) / std::sqrt(1e3) + beta[c];
      REQUIRE(std::isfinite(y[at(l, o, c, 0)]));
      REQUIRE(y[at(l, o, c, 0)] == Approx(approx).margin(2e-3));
    }
}

TEST_CASE("batch_norm with one value per channel outputs beta", "[bn-kernel]") {
  ChannelLayout l{1, 4, 1};
  std::vector<float> x = {3.f, -1e6f, 0.5f, 42.f}, gamma = {2.f, 3.f, 4.f, 5.f}, beta = {0.f, 1.f, -2.f, 0.125f}, y;
  Outputs s = forward(l, x, gamma, beta, 1e-3, y);
  for (int c = 0; c < 4; ++c) {
    CHECK(s.var[c] == 0);
    CHECK(y[c] == beta[c]);
  }
  std::vector<float> dy = {1.f, 2.f, 3.f, 4.f}, dx(4), dgamma(4), dbeta(4);
  keel::kernels::batch_norm_backward<float>(l, dy.data(), x.data(), s.mean.data(), s.invstd.data(), gamma.data(),
                                            nullptr, nullptr, dx.data(), dgamma.data(), dbeta.data());
  for (int c = 0; c < 4; ++c) {
    CHECK(std::fabs(dx[c]) < 1e-5f * std::fabs(dy[c] * gamma[c]) * 32);  // x̂ = 0: dy - mean(dy) = 0
    CHECK(dgamma[c] == 0);
    CHECK(dbeta[c] == dy[c]);
  }
}

TEST_CASE("batch_norm gives the same result for NHWC and NCHW of the same data", "[bn-kernel]") {
  const std::int64_t n = 6, h = 7, w = 9, ch = 5;
  ChannelLayout nhwc{n * h * w, ch, 1}, nchw{n, ch, h * w};
  auto x_nhwc = normal<float>(numel(nhwc), 1.0, 2.0, 41), dy_nhwc = normal<float>(numel(nhwc), 0.0, 1.0, 42);
  std::vector<float> x_nchw(x_nhwc.size()), dy_nchw(x_nhwc.size());
  for (std::int64_t b = 0; b < n; ++b)
    for (std::int64_t p = 0; p < h * w; ++p)
      for (std::int64_t c = 0; c < ch; ++c) {
        x_nchw[at(nchw, b, c, p)] = x_nhwc[at(nhwc, b * h * w + p, c, 0)];
        dy_nchw[at(nchw, b, c, p)] = dy_nhwc[at(nhwc, b * h * w + p, c, 0)];
      }
  auto gamma = normal<float>(ch, 1.0, 0.2, 43), beta = normal<float>(ch, 0.0, 1.0, 44);
  std::vector<float> y1, y2, dx1(x_nhwc.size()), dx2(x_nhwc.size()), dg1(ch), dg2(ch), db1(ch), db2(ch);
  Outputs s1 = forward(nhwc, x_nhwc, gamma, beta, 1e-3, y1), s2 = forward(nchw, x_nchw, gamma, beta, 1e-3, y2);
  keel::kernels::batch_norm_backward<float>(nhwc, dy_nhwc.data(), x_nhwc.data(), s1.mean.data(), s1.invstd.data(),
                                            gamma.data(), nullptr, nullptr, dx1.data(), dg1.data(), db1.data());
  keel::kernels::batch_norm_backward<float>(nchw, dy_nchw.data(), x_nchw.data(), s2.mean.data(), s2.invstd.data(),
                                            gamma.data(), nullptr, nullptr, dx2.data(), dg2.data(), db2.data());
  require_close(s2.mean, s1.mean, 1e-6);
  require_close(s2.var, s1.var, 1e-6);
  require_close(dg2, dg1, 1e-5);
  require_close(db2, db1, 1e-5);
  for (std::int64_t b = 0; b < n; ++b)
    for (std::int64_t p = 0; p < h * w; ++p)
      for (std::int64_t c = 0; c < ch; ++c) {
        REQUIRE(y2[at(nchw, b, c, p)] == Approx(y1[at(nhwc, b * h * w + p, c, 0)]).margin(1e-5));
        REQUIRE(dx2[at(nchw, b, c, p)] == Approx(dx1[at(nhwc, b * h * w + p, c, 0)]).margin(1e-5));
      }
}

TEST_CASE("batch_norm results are bitwise identical for 1 and 2 threads", "[bn-kernel]") {
  for (ChannelLayout l : {ChannelLayout{50176, 32, 1}, ChannelLayout{64, 32, 784}, ChannelLayout{40, 300, 1}}) {
    auto x = normal<float>(numel(l), 3.0, 2.0, 51), dy = normal<float>(numel(l), 0.0, 1.0, 52);
    auto gamma = normal<float>(l.channels, 1.0, 0.2, 53), beta = normal<float>(l.channels, 0.0, 1.0, 54);
    struct Run {
      std::vector<float> y, dx, dg, db;
      Outputs s;
    };
    auto run = [&](int threads) {
      keel::set_num_threads(threads);
      Run r;
      r.s = forward(l, x, gamma, beta, 1e-3, r.y);
      r.dx.resize(x.size());
      r.dg.resize(l.channels);
      r.db.resize(l.channels);
      keel::kernels::batch_norm_backward<float>(l, dy.data(), x.data(), r.s.mean.data(), r.s.invstd.data(),
                                                gamma.data(), nullptr, nullptr, r.dx.data(), r.dg.data(), r.db.data());
      return r;
    };
    Run a = run(1), b = run(2);
    keel::set_num_threads(0);
    auto same = [](const auto& u, const auto& v) {
      return u.size() == v.size() && std::memcmp(u.data(), v.data(), u.size() * sizeof(u[0])) == 0;
    };
    CHECK(same(a.s.mean, b.s.mean));
    CHECK(same(a.s.var, b.s.var));
    CHECK(same(a.y, b.y));
    CHECK(same(a.dx, b.dx));
    CHECK(same(a.dg, b.dg));
    CHECK(same(a.db, b.db));
  }
}

TEST_CASE("combine_moments matches moments computed directly", "[bn-kernel]") {
  auto x = normal<double>(1000, 1e5, 3.0, 61);
  auto direct = [&](std::size_t b, std::size_t e) {
    LD mean = 0, m2 = 0;
    for (std::size_t k = b; k < e; ++k) mean += x[k];
    mean /= static_cast<LD>(e - b);
    for (std::size_t k = b; k < e; ++k) m2 += std::pow(x[k] - mean, 2);
    return keel::Moments{static_cast<double>(e - b), static_cast<double>(mean), static_cast<double>(m2)};
  };
  keel::Moments all;
  for (std::size_t b : {0, 1, 7, 100, 400, 999}) {
    std::size_t e = b == 999 ? 1000 : b == 400 ? 999 : b == 100 ? 400 : b == 7 ? 100 : b == 1 ? 7 : 1;
    all = keel::combine_moments(all, direct(b, e));
  }
  all = keel::combine_moments(all, keel::Moments{});  // an empty group changes nothing
  keel::Moments want = direct(0, 1000);
  CHECK(all.count == 1000);
  CHECK(all.mean == Approx(want.mean).epsilon(1e-15));
  CHECK(all.m2 == Approx(want.m2).epsilon(1e-12));
  // Rounding can never drive M2 below zero.
  keel::Moments same = keel::combine_moments({2, 1e8, 0}, {3, 1e8, 0});
  CHECK(same.m2 == 0);
  CHECK(same.mean == 1e8);
}

TEST_CASE("batch_norm split passes reproduce one process across two replicas (synchronized BN)", "[bn-kernel]") {
  // Two replicas hold outer rows [0, 40) and [40, 100): local moments → combine_moments → global stats;
  // backward sums are added across replicas before the apply pass.
  const std::int64_t ch = 3, inner = 4;
  ChannelLayout whole{100, ch, inner}, a{40, ch, inner}, b{60, ch, inner};
  auto x = normal<double>(numel(whole), 2.0, 1.5, 71), dy = normal<double>(numel(whole), 0.0, 1.0, 72);
  std::vector<double> gamma = {1.2, 0.8, -0.5}, beta = {0.0, 0.3, 1.0};
  const std::size_t split = numel(a);
  std::vector<double> ma(ch), va(ch), mb(ch), vb(ch), mean(ch), invstd(ch), var(ch);
  keel::kernels::batch_norm_moments<double>(a, x.data(), ma.data(), va.data());
  keel::kernels::batch_norm_moments<double>(b, x.data() + split, mb.data(), vb.data());
  const double na = 40.0 * inner, nb = 60.0 * inner;
  for (std::int64_t c = 0; c < ch; ++c) {
    auto m = keel::combine_moments({na, ma[c], va[c] * na}, {nb, mb[c], vb[c] * nb});
    mean[c] = m.mean;
    var[c] = m.m2 / m.count;
  }
  keel::kernels::batch_norm_invstd(ch, var.data(), 1e-3, invstd.data());
  std::vector<double> y(x.size());
  keel::kernels::batch_norm_normalize<double>(a, x.data(), mean.data(), invstd.data(), gamma.data(), beta.data(),
                                              nullptr, nullptr, y.data());
  keel::kernels::batch_norm_normalize<double>(b, x.data() + split, mean.data(), invstd.data(), gamma.data(),
                                              beta.data(), nullptr, nullptr, y.data() + split);
  require_close(y, ref_forward(whole, x, gamma, beta, 1e-3L), 1e-12);

  std::vector<double> sa(ch), sxa(ch), sb(ch), sxb(ch), dx(x.size()), dgamma(ch), dbeta(ch);
  keel::kernels::batch_norm_backward_reduce<double>(a, dy.data(), x.data(), mean.data(), invstd.data(), sa.data(),
                                                    sxa.data());
  keel::kernels::batch_norm_backward_reduce<double>(b, dy.data() + split, x.data() + split, mean.data(),
                                                    invstd.data(), sb.data(), sxb.data());
  for (std::int64_t c = 0; c < ch; ++c) {
    sa[c] += sb[c];
    sxa[c] += sxb[c];
  }
  keel::kernels::batch_norm_backward_apply<double>(a, dy.data(), x.data(), mean.data(), invstd.data(), gamma.data(),
                                                   nullptr, sa.data(), sxa.data(), na + nb, dx.data());
  keel::kernels::batch_norm_backward_apply<double>(b, dy.data() + split, x.data() + split, mean.data(),
                                                   invstd.data(), gamma.data(), nullptr, sa.data(), sxa.data(),
                                                   na + nb, dx.data() + split);
  keel::kernels::batch_norm_param_grads<double>(ch, sa.data(), sxa.data(), nullptr, nullptr, dgamma.data(),
                                                dbeta.data());
  RefGrads g = ref_backward(whole, dy, x, gamma, 1e-3L);
  require_close(dx, g.dx, 1e-11);
  require_close(dgamma, g.dgamma, 1e-11);
  require_close(dbeta, g.dbeta, 1e-11);
}

TEST_CASE("batch_norm kernels refuse bad layouts and epsilons", "[bn-kernel]") {
  std::vector<float> x(8), y(8), c(2, 1.f);
  std::vector<double> m(2), v(2), s(2);
  auto bad_layout = [&] { keel::kernels::batch_norm_moments<float>({-1, 2, 1}, x.data(), m.data(), v.data()); };
  REQUIRE_THROWS_AS(bad_layout(), keel::ShapeError);
  REQUIRE_THROWS_WITH(bad_layout(), Catch::Matchers::Contains("batch_norm_moments") &&
                                        Catch::Matchers::Contains("outer=-1"));
  auto bad_eps = [&] {
    keel::kernels::batch_norm_forward_training<float>({4, 2, 1}, x.data(), nullptr, nullptr, -1e-3, y.data(),
                                                      m.data(), v.data(), s.data());
  };
  REQUIRE_THROWS_AS(bad_eps(), keel::ValueError);
  REQUIRE_THROWS_WITH(bad_eps(), Catch::Matchers::Contains("batch_norm_forward_training") &&
                                     Catch::Matchers::Contains("epsilon") && Catch::Matchers::Contains("-0.001"));
  REQUIRE_THROWS_AS(keel::kernels::batch_norm_inference<float>({4, 2, 1}, x.data(), nullptr, nullptr, c.data(),
                                                               c.data(), std::nan(""), y.data()),
                    keel::ValueError);
  // An empty batch gives mean 0 and variance 0.
  m = {5, 5};
  v = {5, 5};
  keel::kernels::batch_norm_moments<float>({0, 2, 1}, x.data(), m.data(), v.data());
  CHECK(m == std::vector<double>{0, 0});
  CHECK(v == std::vector<double>{0, 0});
}
