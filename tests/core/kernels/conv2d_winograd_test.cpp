// Winograd F(2x2, 3x3): float32 conv2d_forward and conv2d_backward_input take it for 3x3 stride-1 NHWC
// layers with channel counts a multiple of 32 (a register block on every vector width). Expected values
// come from the float64 kernels, which never take it (their GEMM path is checked against the definition's
// loops in conv2d_test.cpp). The bar: every element within 1e-5 of max(1, largest |expected|) of its tensor.
// (Per element, relative to its own value, float32 im2col + GEMM misses 1e-5 too where a kernel-gradient sum
// of thousands of terms nearly cancels: 3.6e-5 on the reference convnet's conv2, against 6.1e-5 here; relative
// to the largest value both stay under 7e-7.)
#include "keel/core/kernels/conv2d_winograd.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <random>
#include <utility>
#include <vector>

#include "core/kernels/kernel_test_support.h"

using keel::kernels::Conv2dGeometry;
using keel::kernels::Layout;
using keel_test::random_values;
using keel_test::to_double;

namespace {

constexpr double kRelativeBar = 1e-5;

// |got - want| <= kRelativeBar * max(1, max |want|) everywhere; reports the worst element.
void require_close(const std::vector<float>& got, const std::vector<double>& want) {
  REQUIRE(got.size() == want.size());
  double scale = 1, worst = 0;
  std::size_t at = 0;
  for (double w : want) scale = std::max(scale, std::abs(w));
  for (std::size_t i = 0; i < got.size(); ++i)
    if (const double error = std::abs(got[i] - want[i]); !(error <= worst)) worst = error, at = i;
  INFO("worst element " << at << ": got " << got[at] << ", want " << want[at] << ", scale " << scale);
  CHECK(worst <= kRelativeBar * scale);
}

struct Case {
  std::int64_t n, h, w, c, oc;
  bool same;
};

Conv2dGeometry geometry_for(const Case& k) {
  return keel::kernels::conv2d_geometry(Layout::NHWC, k.n, k.h, k.w, k.c, k.oc, 3, 3, 1, 1, 1, 1, k.same);
}

// n, h, w, c, oc, same
const std::vector<Case> kCases = {
    {3, 13, 13, 32, 64, false},  // the reference convnet's conv2: 11x11 outputs, the last tiles half full
    {2, 8, 10, 64, 32, true},    // same padding, even sizes, more inputs than outputs
    {2, 9, 7, 32, 32, false},    // 7x5 outputs: a partial tile in both directions
    {5, 5, 4, 32, 96, true},     // few tiles per image, three register blocks of outputs
    {1, 30, 29, 32, 32, true},   // 225 tiles: several tile blocks, the last one short
    {2, 10, 12, 32, 32, false},  // 8x10 outputs in whole tiles: forward and kernel gradient read x in place
};

// The forward (plain and with the fused relu), both gradients one at a time and together, against the float64
// kernels.
void check_against_float64(const Case& k, std::uint64_t seed) {
  const Conv2dGeometry g = geometry_for(k);
  REQUIRE(keel::kernels::conv2d_winograd_applicable(g));
  const std::int64_t x_size = k.n * k.h * k.w * k.c, y_size = k.n * g.out_h * g.out_w * k.oc;
  const auto x = random_values<float>(x_size, 1 + seed);
  const auto kern = random_values<float>(9 * k.c * k.oc, 100 + seed);
  const auto bias = random_values<float>(k.oc, 200 + seed);
  const auto gy = random_values<float>(y_size, 300 + seed);
  const auto x_d = to_double(x), kern_d = to_double(kern), bias_d = to_double(bias), gy_d = to_double(gy);

  std::vector<double> want(y_size);
  keel::kernels::conv2d_forward<double>(g, x_d.data(), kern_d.data(), bias_d.data(), want.data());
  std::vector<float> y(y_size, 7.0f);  // stale contents must be overwritten
  keel::kernels::conv2d_forward<float>(g, x.data(), kern.data(), bias.data(), y.data());
  require_close(y, want);

  // Fused relu: max(y, 0) of the same sums.
  for (double& v : want) v = std::max(v, 0.0);
  keel::kernels::conv2d_forward<float>(g, x.data(), kern.data(), bias.data(), y.data(), true);
  require_close(y, want);

  std::vector<double> gx_want(x_size);
  keel::kernels::conv2d_backward_input<double>(g, gy_d.data(), kern_d.data(), gx_want.data());
  std::vector<float> gx(x_size, 7.0f);
  keel::kernels::conv2d_backward_input<float>(g, gy.data(), kern.data(), gx.data());
  require_close(gx, gx_want);

  std::vector<double> gk_want(kern.size()), gb_want(k.oc);
  keel::kernels::conv2d_backward_kernel<double>(g, x_d.data(), gy_d.data(), gk_want.data(), gb_want.data());
  std::vector<float> gk(kern.size(), 7.0f), gb(k.oc, 7.0f);
  keel::kernels::conv2d_backward_kernel<float>(g, x.data(), gy.data(), gk.data(), gb.data());
  require_close(gk, gk_want);
  require_close(gb, gb_want);
  std::fill(gk.begin(), gk.end(), 7.0f);
  keel::kernels::conv2d_backward_kernel<float>(g, x.data(), gy.data(), gk.data(), nullptr);
  require_close(gk, gk_want);

  // Both gradients in one pass, sharing the product gradients: the same bits as the two calls.
  std::vector<float> gx_both(x_size, 7.0f), gk_both(kern.size(), 7.0f), gb_both(k.oc, 7.0f);
  keel::kernels::conv2d_backward<float>(g, x.data(), gy.data(), kern.data(), gx_both.data(), gk_both.data(),
                                        gb_both.data());
  CHECK(keel_test::joined<float>({&gx_both, &gk_both, &gb_both}) == keel_test::joined<float>({&gx, &gk, &gb}));
}

}  // namespace

TEST_CASE("winograd conv2d forward and both gradients are within 1e-5 of the float64 kernels", "[conv][winograd]") {
  const std::size_t index = GENERATE(range(std::size_t{0}, kCases.size()));
  INFO("case " << index);
  check_against_float64(kCases[index], index);
}

// Sizes from 3 to 12 in either direction, both paddings, one to three images: the bordered copies, their
// in-place reads and the partial tiles at every edge.
TEST_CASE("winograd conv2d matches the float64 kernels on assorted small geometries", "[conv][winograd]") {
  std::mt19937 rng(2024);
  std::uniform_int_distribution<std::int64_t> size(3, 12), images(1, 3), channel_blocks(1, 2);
  int checked = 0;
  for (int trial = 0; trial < 200 && checked < 40; ++trial) {
    const Case k{images(rng), size(rng), size(rng), 32 * channel_blocks(rng), 32 * channel_blocks(rng),
                 rng() % 2 == 0};
    if (!keel::kernels::conv2d_winograd_applicable(geometry_for(k))) continue;  // too few outputs
    INFO("n " << k.n << ", " << k.h << "x" << k.w << ", " << k.c << " -> " << k.oc << (k.same ? ", same" : ", valid"));
    check_against_float64(k, static_cast<std::uint64_t>(trial));
    ++checked;
  }
  CHECK(checked == 40);
}

TEST_CASE("winograd conv2d results are bitwise identical on 1 and 2 threads", "[conv][winograd]") {
  const Case k = GENERATE(Case{64, 13, 13, 32, 64, false}, Case{19, 10, 9, 64, 32, true});
  const Conv2dGeometry g = geometry_for(k);
  REQUIRE(keel::kernels::conv2d_winograd_applicable(g));
  const std::int64_t x_size = k.n * k.h * k.w * k.c, y_size = k.n * g.out_h * g.out_w * k.oc;
  const auto x = random_values<float>(x_size, 41);
  const auto kern = random_values<float>(9 * k.c * k.oc, 42);
  const auto bias = random_values<float>(k.oc, 43);
  const auto gy = random_values<float>(y_size, 44);
  keel_test::require_same_on_1_and_2_threads([&] {
    std::vector<float> y(y_size), gx(x_size), gk(kern.size()), gb(k.oc);
    keel::kernels::conv2d_forward<float>(g, x.data(), kern.data(), bias.data(), y.data(), true);
    keel::kernels::conv2d_backward_input<float>(g, gy.data(), kern.data(), gx.data());
    keel::kernels::conv2d_backward_kernel<float>(g, x.data(), gy.data(), gk.data(), gb.data());
    std::vector<float> gx_both(x_size), gk_both(kern.size()), gb_both(k.oc);
    keel::kernels::conv2d_backward<float>(g, x.data(), gy.data(), kern.data(), gx_both.data(), gk_both.data(),
                                          gb_both.data());
    return keel_test::joined<float>({&y, &gx, &gk, &gb, &gx_both, &gk_both, &gb_both});
  });
}

TEST_CASE("winograd conv2d: a NaN input reaches exactly the outputs whose window holds it", "[conv][winograd]") {
  const Case k{1, 8, 8, 32, 32, false};  // 6x6 outputs
  const Conv2dGeometry g = geometry_for(k);
  REQUIRE(keel::kernels::conv2d_winograd_applicable(g));
  auto x = random_values<float>(k.h * k.w * k.c, 5);
  const auto kern = random_values<float>(9 * k.c * k.oc, 6);
  const std::int64_t nan_h = 3, nan_w = 0, nan_c = 7;  // a tile's second row, the image's left edge
  x[(nan_h * k.w + nan_w) * k.c + nan_c] = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> y(g.out_h * g.out_w * k.oc);
  const bool relu = GENERATE(false, true);
  keel::kernels::conv2d_forward<float>(g, x.data(), kern.data(), nullptr, y.data(), relu);
  for (std::int64_t h = 0; h < g.out_h; ++h)
    for (std::int64_t w = 0; w < g.out_w; ++w) {
      const bool in_window = nan_h - 2 <= h && h <= nan_h && nan_w - 2 <= w && w <= nan_w;
      for (std::int64_t o = 0; o < k.oc; ++o) {
        INFO("output (" << h << ", " << w << ", " << o << ")");
        CHECK(std::isnan(y[(h * g.out_w + w) * k.oc + o]) == in_window);
      }
    }
}

TEST_CASE("winograd conv2d: a NaN output gradient reaches exactly the inputs in its window", "[conv][winograd]") {
  const Case k{1, 8, 8, 32, 32, false};  // 6x6 outputs in 3x3 tiles
  const Conv2dGeometry g = geometry_for(k);
  REQUIRE(keel::kernels::conv2d_winograd_applicable(g));
  const auto kern = random_values<float>(9 * k.c * k.oc, 6);
  // Each position of a tile, and the last tile's corner: the input tiles around them overlap.
  using At = std::pair<std::int64_t, std::int64_t>;
  const auto [nan_h, nan_w] = GENERATE(At{2, 2}, At{3, 4}, At{0, 3}, At{5, 5});
  auto gy = random_values<float>(g.out_h * g.out_w * k.oc, 8);
  gy[(nan_h * g.out_w + nan_w) * k.oc + 11] = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> gx(k.h * k.w * k.c);
  keel::kernels::conv2d_backward_input<float>(g, gy.data(), kern.data(), gx.data());
  for (std::int64_t h = 0; h < k.h; ++h)
    for (std::int64_t w = 0; w < k.w; ++w) {
      const bool in_window = nan_h <= h && h <= nan_h + 2 && nan_w <= w && w <= nan_w + 2;
      for (std::int64_t c = 0; c < k.c; ++c) {
        INFO("NaN at (" << nan_h << ", " << nan_w << "); input (" << h << ", " << w << ", " << c << ")");
        CHECK(std::isnan(gx[(h * k.w + w) * k.c + c]) == in_window);
      }
    }
}

TEST_CASE("winograd conv2d applies only where its tiles pay", "[conv][winograd]") {
  using keel::kernels::conv2d_geometry;
  using keel::kernels::conv2d_winograd_applicable;
  const auto nhwc = Layout::NHWC, nchw = Layout::NCHW;
  CHECK(conv2d_winograd_applicable(conv2d_geometry(nhwc, 64, 13, 13, 32, 64, 3, 3, 1, 1, 1, 1, false)));
  CHECK_FALSE(conv2d_winograd_applicable(conv2d_geometry(nchw, 64, 13, 13, 32, 64, 3, 3, 1, 1, 1, 1, false)));
  CHECK_FALSE(conv2d_winograd_applicable(conv2d_geometry(nhwc, 64, 13, 13, 32, 64, 3, 3, 2, 2, 1, 1, false)));
  CHECK_FALSE(conv2d_winograd_applicable(conv2d_geometry(nhwc, 64, 13, 13, 32, 64, 3, 3, 1, 1, 2, 2, false)));
  CHECK_FALSE(conv2d_winograd_applicable(conv2d_geometry(nhwc, 64, 13, 13, 32, 64, 5, 5, 1, 1, 1, 1, false)));
  CHECK_FALSE(conv2d_winograd_applicable(conv2d_geometry(nhwc, 64, 28, 28, 1, 32, 3, 3, 1, 1, 1, 1, false)));
  CHECK_FALSE(conv2d_winograd_applicable(conv2d_geometry(nhwc, 64, 13, 13, 32, 10, 3, 3, 1, 1, 1, 1, false)));
  // 3x3 outputs need 4 tiles (64 products) for 81 direct ones; 1x1 needs 16 for 9.
  CHECK_FALSE(conv2d_winograd_applicable(conv2d_geometry(nhwc, 64, 5, 5, 32, 64, 3, 3, 1, 1, 1, 1, false)));
  CHECK_FALSE(conv2d_winograd_applicable(conv2d_geometry(nhwc, 64, 1, 1, 32, 64, 3, 3, 1, 1, 1, 1, true)));
  CHECK(conv2d_winograd_applicable(conv2d_geometry(nhwc, 64, 6, 6, 32, 64, 3, 3, 1, 1, 1, 1, false)));
}
