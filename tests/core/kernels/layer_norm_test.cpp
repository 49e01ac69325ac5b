#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <vector>

#include "keel/core/error.h"
#include "keel/core/kernels/layer_norm.h"
#include "keel/core/kernels/simd.h"
#include "kernel_test_support.h"

using namespace keel_test;
namespace kernels = keel::kernels;

namespace {

// Double reference for one [rows, cols] problem: two-pass moments of the T values, then the formulas.
struct Reference {
  std::vector<double> y, mean, invstd, dx, dgamma, dbeta;
};

Reference reference(std::int64_t rows, std::int64_t cols, const std::vector<double>& x, const std::vector<double>& gamma,
                    const std::vector<double>& beta, double eps, const std::vector<double>& dy) {
  Reference r;
  r.y.resize(x.size());
  r.dx.resize(x.size());
  r.dgamma.assign(cols, 0.0);
  r.dbeta.assign(cols, 0.0);
  for (std::int64_t i = 0; i < rows; ++i) {
    double m = 0, v = 0;
    for (std::int64_t j = 0; j < cols; ++j) m += x[i * cols + j];
    m /= double(cols);
    for (std::int64_t j = 0; j < cols; ++j) v += (x[i * cols + j] - m) * (x[i * cols + j] - m);
    v /= double(cols);
    const double s = 1 / std::sqrt(v + eps);
    r.mean.push_back(m);
    r.invstd.push_back(s);
    double mg = 0, mgx = 0;
    for (std::int64_t j = 0; j < cols; ++j) {
      const double xhat = (x[i * cols + j] - m) * s, g = dy[i * cols + j] * gamma[j];
      r.y[i * cols + j] = xhat * gamma[j] + beta[j];
      r.dgamma[j] += dy[i * cols + j] * xhat;
      r.dbeta[j] += dy[i * cols + j];
      mg += g / double(cols);
      mgx += g * xhat / double(cols);
    }
    for (std::int64_t j = 0; j < cols; ++j) {
      const double xhat = (x[i * cols + j] - m) * s, g = dy[i * cols + j] * gamma[j];
      r.dx[i * cols + j] = s * (g - mg - xhat * mgx);
    }
  }
  return r;
}

template <class T>
void check_against_reference(std::int64_t rows, std::int64_t cols, double offset, double rtol) {
  std::vector<T> x = random_values<T>(std::size_t(rows * cols), 11), gamma = random_values<T>(std::size_t(cols), 12),
                 beta = random_values<T>(std::size_t(cols), 13), dy = random_values<T>(std::size_t(rows * cols), 14);
  for (T& v : x) v = static_cast<T>(offset + double(v));
  const Reference want = reference(rows, cols, to_double(x), to_double(gamma), to_double(beta), 1e-3, to_double(dy));
  std::vector<T> y(x.size()), dx(x.size()), dgamma(cols), dbeta(cols);
  std::vector<double> mean(rows), invstd(rows);
  kernels::layer_norm_forward<T>(rows, cols, x.data(), gamma.data(), beta.data(), 1e-3, y.data(), mean.data(),
                                 invstd.data());
  require_close(y, want.y, rtol);
  require_close(invstd, want.invstd, rtol);
  kernels::layer_norm_backward<T>(rows, cols, dy.data(), x.data(), gamma.data(), mean.data(), invstd.data(), dx.data(),
                                  dgamma.data(), dbeta.data());
  require_close(dx, want.dx, rtol);
  require_close(dgamma, want.dgamma, rtol);
  require_close(dbeta, want.dbeta, rtol);
}

}  // namespace

TEST_CASE("layer_norm kernels by hand: one row [1, 2, 3, 4]", "[kernels][layer_norm]") {
  const std::vector<double> x = {1, 2, 3, 4}, gamma = {1, 2, 1, 1}, beta = {0, 0, 1, 0};
  std::vector<double> y(4), mean(1), invstd(1);
  kernels::layer_norm_forward<double>(1, 4, x.data(), gamma.data(), beta.data(), 0.0, y.data(), mean.data(),
                                      invstd.data());
  const double s = 1 / std::sqrt(1.25);  // mean 2.5, variance (2.25 + 0.25 + 0.25 + 2.25) / 4
  CHECK(mean[0] == Approx(2.5));
  CHECK(invstd[0] == Approx(s));
  require_close(y, {-1.5 * s, -0.5 * s * 2, 0.5 * s + 1, 1.5 * s}, 1e-14);
  // A constant row with eps 0: inverse standard deviation 0, so the output is beta.
  const std::vector<double> flat = {3, 3, 3, 3};
  kernels::layer_norm_forward<double>(1, 4, flat.data(), nullptr, beta.data(), 0.0, y.data(), mean.data(),
                                      invstd.data());
  CHECK(invstd[0] == 0);
  require_close(y, beta, 0);
}

TEST_CASE("layer_norm kernels match a double reference, several blocks per row", "[kernels][layer_norm]") {
  check_against_reference<double>(7, 5, 0.0, 1e-12);
  check_against_reference<double>(3, 1500, 0.0, 1e-12);
  check_against_reference<float>(37, 300, 0.0, 1e-5);
  check_against_reference<float>(5, 1300, 0.0, 1e-5);
}

TEST_CASE("layer_norm backward with each gradient optional and no gamma, over many 16-row blocks",
          "[kernels][layer_norm]") {
  // 700 rows: several chunks, each summing its dgamma/dbeta terms in float over 16-row blocks and a
  // shorter last block.
  const std::int64_t rows = 700, cols = 40;
  const std::vector<float> x = random_values<float>(rows * cols, 31), dy = random_values<float>(rows * cols, 32);
  const std::vector<float> ones(cols, 1.0f);
  const Reference want = reference(rows, cols, to_double(x), to_double(ones), std::vector<double>(cols, 0.0), 1e-3,
                                   to_double(dy));
  std::vector<float> y(x.size());
  std::vector<double> mean(rows), invstd(rows);
  kernels::layer_norm_forward<float>(rows, cols, x.data(), nullptr, nullptr, 1e-3, y.data(), mean.data(),
                                     invstd.data());
  require_close(y, want.y, 1e-5);
  for (int wanted = 1; wanted < 8; ++wanted) {
    const bool with_dx = wanted & 1, with_dgamma = wanted & 2, with_dbeta = wanted & 4;
    INFO("dx " << with_dx << ", dgamma " << with_dgamma << ", dbeta " << with_dbeta);
    std::vector<float> dx(x.size(), -7.0f), dgamma(cols, -7.0f), dbeta(cols, -7.0f);
    kernels::layer_norm_backward<float>(rows, cols, dy.data(), x.data(), nullptr, mean.data(), invstd.data(),
                                        with_dx ? dx.data() : nullptr, with_dgamma ? dgamma.data() : nullptr,
                                        with_dbeta ? dbeta.data() : nullptr);
    if (with_dx) require_close(dx, want.dx, 1e-5);
    if (with_dgamma) require_close(dgamma, want.dgamma, 1e-5);
    if (with_dbeta) require_close(dbeta, want.dbeta, 1e-5);
    if (!with_dx) CHECK(dx[0] == -7.0f);  // not written
  }
}

TEST_CASE("layer_norm keeps float32 accuracy at an offset of 1e4", "[kernels][layer_norm]") {
  // Values 1e4 + U(-1, 1) in float32: a raw Σx² in float would lose every digit of the variance.
  check_against_reference<float>(16, 256, 1e4, 2e-5);
  check_against_reference<float>(4, 1100, 1e4, 2e-5);
}

TEST_CASE("layer_norm kernels give bitwise the same results on 1 and 2 threads", "[kernels][layer_norm]") {
  const std::int64_t rows = 500, cols = 96;
  const std::vector<float> x = random_values<float>(rows * cols, 21), dy = random_values<float>(rows * cols, 22),
                           gamma = random_values<float>(cols, 23), beta = random_values<float>(cols, 24);
  require_same_on_1_and_2_threads([&] {
    std::vector<float> out(std::size_t(2 * rows * cols + 2 * cols));
    std::vector<double> mean(rows), invstd(rows);
    float* y = out.data();
    float* dx = y + rows * cols;
    kernels::layer_norm_forward<float>(rows, cols, x.data(), gamma.data(), beta.data(), 1e-3, y, mean.data(),
                                       invstd.data());
    kernels::layer_norm_backward<float>(rows, cols, dy.data(), x.data(), gamma.data(), mean.data(), invstd.data(), dx,
                                        dx + rows * cols, dx + rows * cols + cols);
    return out;
  });
}

TEST_CASE("layer_norm kernels stream the outputs of large passes to memory, with the same values",
          "[kernels][layer_norm]") {
  // [8192, 256] float32 with rows on 64-byte boundaries: forward moves x and y (16 MiB), backward dy, x
  // and dx (24 MiB), so both write with streaming stores (simd.h's kStreamBytes). Both outputs start as
  // garbage; every row must match the double reference, and rows from calls too small to stream bitwise.
  const std::int64_t rows = 8192, cols = 256, n = rows * cols;
  REQUIRE(2 * n * std::int64_t(sizeof(float)) >= kernels::kStreamBytes);
  const std::vector<float> x = random_values<float>(n, 51), dy = random_values<float>(n, 52),
                           gamma = random_values<float>(cols, 53), beta = random_values<float>(cols, 54);
  std::vector<float> buffer(std::size_t(2 * n + 16), -7.0f);
  float* y = buffer.data();
  while (reinterpret_cast<std::uintptr_t>(y) % 64 != 0) ++y;
  float* dx = y + n;
  std::vector<float> dgamma(cols), dbeta(cols);
  std::vector<double> mean(rows), invstd(rows);
  kernels::layer_norm_forward<float>(rows, cols, x.data(), gamma.data(), beta.data(), 1e-3, y, mean.data(),
                                     invstd.data());
  kernels::layer_norm_backward<float>(rows, cols, dy.data(), x.data(), gamma.data(), mean.data(), invstd.data(), dx,
                                      dgamma.data(), dbeta.data());
  const Reference want = reference(rows, cols, to_double(x), to_double(gamma), to_double(beta), 1e-3, to_double(dy));
  require_close(std::vector<float>(y, y + n), want.y, 1e-5);
  require_close(std::vector<float>(dx, dx + n), want.dx, 1e-5);
  require_close(dgamma, want.dgamma, 1e-5);
  for (std::int64_t r0 : {std::int64_t{0}, rows / 2 + 3, rows - 5}) {
    INFO("rows from " << r0);
    const std::int64_t few = 5;
    std::vector<float> y_few(few * cols), dx_few(few * cols);
    std::vector<double> mean_few(few), invstd_few(few);
    kernels::layer_norm_forward<float>(few, cols, x.data() + r0 * cols, gamma.data(), beta.data(), 1e-3,
                                       y_few.data(), mean_few.data(), invstd_few.data());
    kernels::layer_norm_backward<float>(few, cols, dy.data() + r0 * cols, x.data() + r0 * cols, gamma.data(),
                                        mean_few.data(), invstd_few.data(), dx_few.data(), nullptr, nullptr);
    CHECK(y_few == std::vector<float>(y + r0 * cols, y + (r0 + few) * cols));
    CHECK(dx_few == std::vector<float>(dx + r0 * cols, dx + (r0 + few) * cols));
  }
}

TEST_CASE("layer_norm kernels refuse negative sizes and a negative epsilon", "[kernels][layer_norm]") {
  float v = 0;
  double m = 0;
  CHECK_THROWS_AS(kernels::layer_norm_forward<float>(-1, 4, &v, nullptr, nullptr, 1e-3, &v, &m, &m), keel::ShapeError);
  CHECK_THROWS_AS(kernels::layer_norm_forward<float>(1, 1, &v, nullptr, nullptr, -1.0, &v, &m, &m), keel::ValueError);
}
