// BatchNormalization kernels against references computed here in long double from the formulas of
// SEMANTICS §1.3–§1.6 (never from the kernels' own output).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "keel/core/error.h"
#include "keel/core/kernels/batch_norm.h"
#include "keel/core/parallel.h"

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
