#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "keel/core/error.h"
#include "keel/core/kernels/group_norm.h"
#include "kernel_test_support.h"

using namespace keel_test;
namespace kernels = keel::kernels;

namespace {

struct Reference {
  std::vector<double> y, dx, dgamma, dbeta;
};

// Double reference from the definition: element (n, a, c, b) at ((n·A + a)·C + c)·B + b, group c / (C / G).
Reference reference(const kernels::GroupNormLayout& l, const std::vector<double>& x, const std::vector<double>& gamma,
                    const std::vector<double>& beta, double eps, const std::vector<double>& dy) {
  const std::int64_t A = l.before, C = l.channels, B = l.after, G = l.groups, per = C / G;
  Reference r{std::vector<double>(x.size()), std::vector<double>(x.size()), std::vector<double>(C, 0.0),
              std::vector<double>(C, 0.0)};
  auto at = [&](std::int64_t n, std::int64_t a, std::int64_t c, std::int64_t b) { return ((n * A + a) * C + c) * B + b; };
  for (std::int64_t n = 0; n < l.samples; ++n)
    for (std::int64_t g = 0; g < G; ++g) {
      std::vector<std::int64_t> members;
      for (std::int64_t a = 0; a < A; ++a)
        for (std::int64_t c = g * per; c < (g + 1) * per; ++c)
          for (std::int64_t b = 0; b < B; ++b) members.push_back(at(n, a, c, b));
      const double count = double(members.size());
      double m = 0, v = 0;
      for (auto i : members) m += x[i] / count;
      for (auto i : members) v += (x[i] - m) * (x[i] - m) / count;
      const double s = 1 / std::sqrt(v + eps);
      double mg = 0, mgx = 0;
      for (auto i : members) {
        const std::int64_t c = (i / B) % C;
        const double xhat = (x[i] - m) * s;
        r.y[i] = xhat * gamma[c] + beta[c];
        r.dgamma[c] += dy[i] * xhat;
        r.dbeta[c] += dy[i];
        mg += dy[i] * gamma[c] / count;
        mgx += dy[i] * gamma[c] * xhat / count;
      }
      for (auto i : members) {
        const std::int64_t c = (i / B) % C;
        r.dx[i] = s * (dy[i] * gamma[c] - mg - (x[i] - m) * s * mgx);
      }
    }
  return r;
}

template <class T>
void check_against_reference(const kernels::GroupNormLayout& l, double offset, double rtol) {
  const std::size_t n = std::size_t(l.samples * l.before * l.channels * l.after), c = std::size_t(l.channels);
  std::vector<T> x = random_values<T>(n, 31), dy = random_values<T>(n, 32), gamma = random_values<T>(c, 33),
                 beta = random_values<T>(c, 34);
  for (T& v : x) v = static_cast<T>(offset + double(v));
  const Reference want = reference(l, to_double(x), to_double(gamma), to_double(beta), 1e-3, to_double(dy));
  std::vector<T> y(n), dx(n), dgamma(c), dbeta(c);
  std::vector<double> mean(std::size_t(l.samples * l.groups)), invstd(mean.size());
  kernels::group_norm_forward<T>(l, x.data(), gamma.data(), beta.data(), 1e-3, y.data(), mean.data(), invstd.data());
  require_close(y, want.y, rtol);
  kernels::group_norm_backward<T>(l, dy.data(), x.data(), gamma.data(), mean.data(), invstd.data(), dx.data(),
                                  dgamma.data(), dbeta.data());
  require_close(dx, want.dx, rtol);
  require_close(dgamma, want.dgamma, rtol);
  require_close(dbeta, want.dbeta, rtol);
}

}  // namespace

TEST_CASE("group_norm kernels by hand: two groups of two channels", "[kernels][group_norm]") {
  // [N=1, A=2, C=4, B=1]: group 0 = {1, 2, 5, 6}, group 1 = {3, 4, 7, 8}, both of variance 4.25.
  const std::vector<double> x = {1, 2, 3, 4, 5, 6, 7, 8};
  std::vector<double> y(8), mean(2), invstd(2);
  kernels::group_norm_forward<double>({.samples = 1, .before = 2, .channels = 4, .after = 1, .groups = 2}, x.data(),
                                      nullptr, nullptr, 0.0, y.data(), mean.data(), invstd.data());
  const double s = 1 / std::sqrt(4.25);
  CHECK(mean == std::vector<double>{3.5, 5.5});
  require_close(y, {-2.5 * s, -1.5 * s, -2.5 * s, -1.5 * s, 1.5 * s, 2.5 * s, 1.5 * s, 2.5 * s}, 1e-14);
}

TEST_CASE("group_norm kernels match a double reference in every layout", "[kernels][group_norm]") {
  check_against_reference<double>({.samples = 3, .before = 5, .channels = 6, .after = 1, .groups = 3}, 0, 1e-12);
  check_against_reference<double>({.samples = 2, .before = 1, .channels = 6, .after = 7, .groups = 2}, 0, 1e-12);
  check_against_reference<double>({.samples = 2, .before = 3, .channels = 4, .after = 5, .groups = 4}, 0, 1e-12);
  check_against_reference<float>({.samples = 4, .before = 300, .channels = 8, .after = 1, .groups = 2}, 0, 1e-5);
  check_against_reference<float>({.samples = 2, .before = 1, .channels = 4, .after = 700, .groups = 1}, 0, 1e-5);
  // Channels-last with whole vectors of channels and channels left over, an odd number of pixels over
  // several blocks of 64.
  check_against_reference<float>({.samples = 2, .before = 151, .channels = 20, .after = 1, .groups = 5}, 0, 1e-5);
  check_against_reference<double>({.samples = 2, .before = 131, .channels = 10, .after = 1, .groups = 5}, 0, 1e-12);
}

TEST_CASE("group_norm keeps float32 accuracy at an offset of 1e4", "[kernels][group_norm]") {
  check_against_reference<float>({.samples = 3, .before = 200, .channels = 8, .after = 1, .groups = 4}, 1e4, 2e-5);
  check_against_reference<float>({.samples = 2, .before = 1, .channels = 4, .after = 600, .groups = 2}, 1e4, 2e-5);
}

TEST_CASE("group_norm kernels give bitwise the same results on 1 and 2 threads", "[kernels][group_norm]") {
  const kernels::GroupNormLayout l{.samples = 40, .before = 49, .channels = 16, .after = 1, .groups = 4};
  const std::int64_t n = 40 * 49 * 16;
  const std::vector<float> x = random_values<float>(n, 41), dy = random_values<float>(n, 42),
                           gamma = random_values<float>(16, 43), beta = random_values<float>(16, 44);
  require_same_on_1_and_2_threads([&] {
    std::vector<float> out(std::size_t(2 * n + 32));
    std::vector<double> mean(160), invstd(160);
    kernels::group_norm_forward<float>(l, x.data(), gamma.data(), beta.data(), 1e-3, out.data(), mean.data(),
                                       invstd.data());
    kernels::group_norm_backward<float>(l, dy.data(), x.data(), gamma.data(), mean.data(), invstd.data(),
                                        out.data() + n, out.data() + 2 * n, out.data() + 2 * n + 16);
    return out;
  });
}

TEST_CASE("group_norm kernels refuse bad layouts and a negative epsilon", "[kernels][group_norm]") {
  float v = 0;
  double m = 0;
  CHECK_THROWS_AS(kernels::group_norm_forward<float>({.samples = 1, .channels = 6, .groups = 4}, &v, nullptr, nullptr,
                                                     1e-3, &v, &m, &m),
                  keel::ShapeError);
  CHECK_THROWS_AS(kernels::group_norm_forward<float>({.samples = 1, .channels = 1, .groups = 1}, &v, nullptr, nullptr,
                                                     -1.0, &v, &m, &m),
                  keel::ValueError);
}
