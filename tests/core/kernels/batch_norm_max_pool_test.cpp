// The fused inference pass against its definition: batch_norm_inference, then 2x2 max pooling, bit for bit.
#include "keel/core/kernels/batch_norm_max_pool.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "core/kernels/kernel_test_support.h"
#include "keel/core/error.h"
#include "keel/core/kernels/batch_norm.h"
#include "keel/core/kernels/pooling.h"
#include "keel/core/kernels/simd.h"

using keel::kernels::Layout;
using keel_test::random_values;

namespace {

struct FusedCase {
  std::int64_t n, h, w, c;
  bool with_gamma_beta;
};

// Values with ties and about 3% NaN, around the moving mean, so that both signs meet in a window.
template <class T>
std::vector<T> inputs(std::size_t count, std::uint64_t seed) {
  auto v = random_values<T>(count, seed);
  for (auto& e : v) {
    const double u = (static_cast<double>(e) + 1.0) / 2.0;
    e = u < 0.03 ? std::numeric_limits<T>::quiet_NaN() : static_cast<T>(std::floor(u * 9.0) * 0.37 - 1.2);
  }
  return v;
}

template <class T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

// Fused and unfused results of one case; y_fused is written at a 64-byte boundary.
template <class T>
void check_case(const FusedCase& k, std::uint64_t seed) {
  const auto g = keel::kernels::pool2d_geometry(Layout::NHWC, k.n, k.h, k.w, k.c, 2, 2, 2, 2, false);
  const auto x = inputs<T>(std::size_t(k.n * k.h * k.w * k.c), seed);
  auto gamma = random_values<T>(std::size_t(k.c), seed + 1), beta = random_values<T>(std::size_t(k.c), seed + 2);
  gamma[0] = T(-1.5);  // a negative scale turns the window's minimum into its maximum
  const auto mean = random_values<T>(std::size_t(k.c), seed + 3);
  auto var = random_values<T>(std::size_t(k.c), seed + 4);
  for (auto& v : var) v = std::fabs(v) + T(0.05);
  const T* gp = k.with_gamma_beta ? gamma.data() : nullptr;
  const T* bp = k.with_gamma_beta ? beta.data() : nullptr;

  keel_test::AlignedValues<T> normalized(x.size(), T(7));
  keel::kernels::batch_norm_inference<T>(keel::kernels::ChannelLayout{k.n * k.h * k.w, k.c, 1}, x.data(), gp, bp,
                                         mean.data(), var.data(), 1e-3, normalized.data());
  const std::int64_t out = k.n * g.out_h * g.out_w * k.c;
  keel_test::AlignedValues<T> want(std::size_t(out), T(7)), got(std::size_t(out), T(7));
  keel::kernels::max_pool2d_forward<T>(g, normalized.data(), want.data(), nullptr);
  keel::kernels::batch_norm_inference_max_pool_2x2<T>(g, x.data(), gp, bp, mean.data(), var.data(), 1e-3,
                                                      got.data());
  CHECK(same_bits(got.values(), want.values()));
}

}  // namespace

TEMPLATE_TEST_CASE("batch_norm_inference_max_pool_2x2 gives the bits of batch_norm_inference then max pooling",
                   "[bn-kernel][pool]", float, double) {
  // Channels in whole vectors (the vector walk) or not (one at a time), odd sizes (the last row and column
  // unused), several chunks, and no gamma or beta.
  const FusedCase k = GENERATE(FusedCase{3, 6, 6, 32, true}, FusedCase{2, 7, 9, 16, true},
                               FusedCase{2, 6, 6, 12, true}, FusedCase{1, 4, 4, 3, true},
                               FusedCase{9, 26, 26, 32, true}, FusedCase{2, 8, 6, 64, false});
  INFO("[" << k.n << ", " << k.h << ", " << k.w << ", " << k.c << "]");
  check_case<TestType>(k, 11);
}

TEST_CASE("batch_norm_inference_max_pool_2x2 streams a large batch's output with the same bits", "[bn-kernel][pool]") {
  // 160 x 26 x 26 x 32 float32 in, a quarter of it out: 17.3 MB moved, so y is written with streaming stores.
  const FusedCase k{160, 26, 26, 32, true};
  REQUIRE(k.n * k.h * k.w * k.c * 5 / 4 * std::int64_t(sizeof(float)) >= keel::kernels::kStreamBytes);
  check_case<float>(k, 21);
}

TEST_CASE("batch_norm_inference_max_pool_2x2 refuses other windows, layouts and epsilons", "[bn-kernel][pool]") {
  std::vector<float> x(4 * 4 * 2, 1.0f), y(2 * 2 * 2), mean(2, 0.0f), var(2, 1.0f);
  auto run = [&](const keel::kernels::Pool2dGeometry& g, double eps) {
    keel::kernels::batch_norm_inference_max_pool_2x2<float>(g, x.data(), nullptr, nullptr, mean.data(), var.data(),
                                                            eps, y.data());
  };
  using keel::kernels::pool2d_geometry;
  CHECK_THROWS_AS(run(pool2d_geometry(Layout::NCHW, 1, 4, 4, 2, 2, 2, 2, 2, false), 1e-3), keel::UsageError);
  CHECK_THROWS_AS(run(pool2d_geometry(Layout::NHWC, 1, 4, 4, 2, 3, 3, 1, 1, false), 1e-3), keel::UsageError);
  CHECK_THROWS_AS(run(pool2d_geometry(Layout::NHWC, 1, 4, 4, 2, 2, 2, 2, 2, false), -1.0), keel::ValueError);
  run(pool2d_geometry(Layout::NHWC, 1, 4, 4, 2, 2, 2, 2, 2, false), 0.0);
  CHECK(y[0] == 1.0f);
}
