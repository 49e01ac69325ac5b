#include "keel/core/kernels/pooling.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include "core/kernels/kernel_test_support.h"
#include "keel/core/error.h"
#include "keel/core/kernels/simd.h"

using Catch::Matchers::Contains;
using keel::kernels::Layout;
using keel::kernels::Pool2dGeometry;
using keel_test::Dim;
using keel_test::expected_dim;
using keel_test::message_of;
using keel_test::random_values;
using keel_test::require_close;
using keel_test::to_double;

namespace {

struct PoolCase {
  std::int64_t n, h, w, c, ph, pw, sh, sw;
  bool same;
};

// n, h, w, c, pool_h, pool_w, stride_h, stride_w, same
const std::vector<PoolCase> kCases = {
    {2, 6, 6, 3, 2, 2, 2, 2, false},    // the common case
    {2, 7, 7, 3, 2, 2, 2, 2, false},    // odd input: last row and column unused
    {2, 7, 7, 3, 2, 2, 2, 2, true},     // odd input, same: the padding goes after
    {1, 5, 6, 2, 3, 3, 1, 1, true},     // overlapping windows, padding on both sides
    {3, 8, 5, 4, 3, 2, 2, 1, false},    // non-square, overlapping along the width
    {2, 9, 1, 3, 3, 1, 2, 1, true},     // one pixel wide
    {1, 1, 7, 2, 1, 3, 1, 3, false},    // one pixel high
    {2, 4, 4, 2, 4, 4, 1, 1, false},    // window as large as the input
    {2, 5, 5, 3, 1, 1, 2, 2, true},     // 1x1 window, stride 2
    {2, 6, 6, 2, 3, 3, 2, 2, true},     // 3x3 stride 2 same
    {9, 26, 26, 32, 2, 2, 2, 2, false}, // the reference net's first pool: several chunks
};

struct Reference {
  PoolCase k;
  Layout layout;
  Dim dh, dw;

  std::int64_t x_size() const { return k.n * k.h * k.w * k.c; }
  std::int64_t y_size() const { return k.n * dh.out * dw.out * k.c; }
  std::int64_t x_at(std::int64_t n, std::int64_t h, std::int64_t w, std::int64_t c) const {
    return keel_test::flat_index(layout, n, h, w, c, k.h, k.w, k.c);
  }
  std::int64_t y_at(std::int64_t n, std::int64_t h, std::int64_t w, std::int64_t c) const {
    return keel_test::flat_index(layout, n, h, w, c, dh.out, dw.out, k.c);
  }
  // fn(y index, list of (x index, spatial position ih * w + iw) of the window's real inputs, row-major).
  template <class Fn>
  void for_each_window(Fn&& fn) const {
    std::vector<std::pair<std::int64_t, std::int64_t>> window;
    for (std::int64_t n = 0; n < k.n; ++n)
      for (std::int64_t c = 0; c < k.c; ++c)
        for (std::int64_t oh = 0; oh < dh.out; ++oh)
          for (std::int64_t ow = 0; ow < dw.out; ++ow) {
            window.clear();
            for (std::int64_t i = 0; i < k.ph; ++i)
              for (std::int64_t j = 0; j < k.pw; ++j) {
                const std::int64_t ih = oh * k.sh - dh.pad + i, iw = ow * k.sw - dw.pad + j;
                if (ih >= 0 && ih < k.h && iw >= 0 && iw < k.w) window.emplace_back(x_at(n, ih, iw, c), ih * k.w + iw);
              }
            fn(y_at(n, oh, ow, c), window);
          }
  }
};

Reference reference_for(const PoolCase& k, Layout layout) {
  return {k, layout, expected_dim(k.h, k.ph, k.sh, 1, k.same), expected_dim(k.w, k.pw, k.sw, 1, k.same)};
}

Pool2dGeometry geometry_for(const PoolCase& k, Layout layout) {
  return keel::kernels::pool2d_geometry(layout, k.n, k.h, k.w, k.c, k.ph, k.pw, k.sh, k.sw, k.same);
}

// Small integers (many ties) and about 4% NaN.
template <class T>
std::vector<T> values_with_ties_and_nans(std::size_t count, std::uint64_t seed) {
  auto v = random_values<T>(count, seed);
  for (auto& e : v) {
    const double u = (static_cast<double>(e) + 1.0) / 2.0;
    e = u < 0.04 ? std::numeric_limits<T>::quiet_NaN() : static_cast<T>(std::floor(u * 7.0) - 3.0);
  }
  return v;
}

}  // namespace

TEMPLATE_TEST_CASE("max pooling matches a direct loop, NaN and ties included", "[pool]", float, double) {
  const std::size_t index = GENERATE(range(std::size_t{0}, kCases.size()));
  const Layout layout = GENERATE(Layout::NHWC, Layout::NCHW);
  INFO("case " << index << ", layout " << (layout == Layout::NHWC ? "NHWC" : "NCHW"));
  const Reference ref = reference_for(kCases[index], layout);
  const Pool2dGeometry g = geometry_for(kCases[index], layout);
  REQUIRE(g.out_h == ref.dh.out);
  REQUIRE(g.out_w == ref.dw.out);
  REQUIRE(g.pad_top == ref.dh.pad);
  REQUIRE(g.pad_left == ref.dw.pad);

  const auto x = values_with_ties_and_nans<TestType>(ref.x_size(), 40 + index);
  const auto gy = random_values<TestType>(ref.y_size(), 60 + index);
  // Reference: NaN if the window has one (at the first NaN), else the first maximum in row-major order.
  std::vector<double> want_y(ref.y_size()), want_gx(ref.x_size(), 0.0);
  std::vector<std::int64_t> want_argmax(ref.y_size());
  ref.for_each_window([&](std::int64_t yi, const auto& window) {
    std::size_t best = 0;
    for (std::size_t i = 0; i < window.size(); ++i) {
      const double v = x[window[i].first], b = x[window[best].first];
      if (std::isnan(b)) break;
      if (std::isnan(v) || v > b) best = i;
    }
    want_y[yi] = x[window[best].first];
    want_argmax[yi] = window[best].second;
    want_gx[window[best].first] += gy[yi];
  });

  std::vector<TestType> y(ref.y_size(), TestType(9));
  std::vector<std::int64_t> argmax(ref.y_size(), -1);
  keel::kernels::max_pool2d_forward(g, x.data(), y.data(), argmax.data());
  require_close(y, want_y, 0.0);
  CHECK(argmax == want_argmax);
  std::fill(y.begin(), y.end(), TestType(9));
  keel::kernels::max_pool2d_forward<TestType>(g, x.data(), y.data(), nullptr);
  require_close(y, want_y, 0.0);

  std::vector<TestType> gx(ref.x_size(), TestType(9));
  keel::kernels::max_pool2d_backward(g, gy.data(), argmax.data(), gx.data());
  require_close(gx, want_gx, keel_test::tolerance<TestType>());

  if (keel::kernels::max_pool2d_is_2x2(g)) {  // the argmax-free backward finds the same positions
    std::fill(gx.begin(), gx.end(), TestType(9));
    keel::kernels::max_pool2d_backward_2x2(g, x.data(), y.data(), gy.data(), gx.data());
    require_close(gx, want_gx, 0.0);
  }
}

TEST_CASE("2x2 max pooling of a large batch streams its output to memory, with the same values", "[pool]") {
  // 160 x 26 x 26 x 32 float32 in, 160 x 13 x 13 x 32 out: the pass moves 17.3 MB, so the argmax-free
  // forward writes y with streaming stores (simd.h's kStreamBytes); the argmax forward does not.
  const PoolCase k{160, 26, 26, 32, 2, 2, 2, 2, false};
  const Reference ref = reference_for(k, Layout::NHWC);
  const Pool2dGeometry g = geometry_for(k, Layout::NHWC);
  REQUIRE((ref.x_size() + ref.y_size()) * std::int64_t(sizeof(float)) >= keel::kernels::kStreamBytes);
  const auto x = values_with_ties_and_nans<float>(ref.x_size(), 71);
  std::vector<double> want(ref.y_size());
  ref.for_each_window([&](std::int64_t yi, const auto& window) {
    double best = x[window[0].first];
    for (const auto& [xi, position] : window)
      if (!std::isnan(best) && (std::isnan(x[xi]) || x[xi] > best)) best = x[xi];
    want[yi] = best;
  });
  keel_test::AlignedValues<float> y(ref.y_size(), 9.0f);
  keel::kernels::max_pool2d_forward<float>(g, x.data(), y.data(), nullptr);
  require_close(y.values(), want, 0.0);
}

TEST_CASE("max_pool2d_is_2x2 accepts only non-overlapping 2x2 windows inside the input", "[pool]") {
  using keel::kernels::max_pool2d_is_2x2;
  using keel::kernels::pool2d_geometry;
  const Layout nhwc = Layout::NHWC;
  CHECK(max_pool2d_is_2x2(pool2d_geometry(nhwc, 1, 6, 6, 3, 2, 2, 2, 2, false)));
  CHECK(max_pool2d_is_2x2(pool2d_geometry(nhwc, 1, 7, 7, 3, 2, 2, 2, 2, false)));   // last row, column unused
  CHECK_FALSE(max_pool2d_is_2x2(pool2d_geometry(nhwc, 1, 7, 7, 3, 2, 2, 2, 2, true)));  // padded
  CHECK_FALSE(max_pool2d_is_2x2(pool2d_geometry(nhwc, 1, 6, 6, 3, 2, 2, 1, 1, false)));  // overlapping
  CHECK_FALSE(max_pool2d_is_2x2(pool2d_geometry(nhwc, 1, 6, 6, 3, 3, 3, 2, 2, false)));
  std::vector<float> x(36 * 3), y(9 * 3), gy(9 * 3), gx(36 * 3);
  const auto overlapping = pool2d_geometry(nhwc, 1, 6, 6, 3, 2, 2, 1, 1, false);
  CHECK_THROWS_AS(keel::kernels::max_pool2d_backward_2x2(overlapping, x.data(), y.data(), gy.data(), gx.data()),
                  keel::UsageError);
}

TEMPLATE_TEST_CASE("average pooling matches a direct loop over the real inputs", "[pool]", float, double) {
  const std::size_t index = GENERATE(range(std::size_t{0}, kCases.size()));
  const Layout layout = GENERATE(Layout::NHWC, Layout::NCHW);
  INFO("case " << index << ", layout " << (layout == Layout::NHWC ? "NHWC" : "NCHW"));
  const Reference ref = reference_for(kCases[index], layout);
  const Pool2dGeometry g = geometry_for(kCases[index], layout);
  const auto x = random_values<TestType>(ref.x_size(), 70 + index);
  const auto gy = random_values<TestType>(ref.y_size(), 80 + index);
  std::vector<double> want_y(ref.y_size()), want_gx(ref.x_size(), 0.0);
  ref.for_each_window([&](std::int64_t yi, const auto& window) {
    double sum = 0;
    for (const auto& [xi, pos] : window) sum += x[xi];
    want_y[yi] = sum / static_cast<double>(window.size());
    for (const auto& [xi, pos] : window) want_gx[xi] += gy[yi] / static_cast<double>(window.size());
  });
  const double tol = keel_test::tolerance<TestType>();
  std::vector<TestType> y(ref.y_size(), TestType(9)), gx(ref.x_size(), TestType(9));
  keel::kernels::avg_pool2d_forward(g, x.data(), y.data());
  require_close(y, want_y, tol);
  keel::kernels::avg_pool2d_backward(g, gy.data(), gx.data());
  require_close(gx, want_gx, tol);
}

TEST_CASE("max pooling: hand-checked NaN, infinity and tie windows", "[pool]") {
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  // One 4x4 single-channel image, 2x2 windows with stride 2.
  const std::vector<double> x = {5,    nan, 2, 2,     //
                                 7,    1,   2, 2,     //
                                 -inf, -inf, 3, nan,  //
                                 -inf, -inf, nan, 4};
  const Layout layout = GENERATE(Layout::NHWC, Layout::NCHW);
  const auto g = keel::kernels::pool2d_geometry(layout, 1, 4, 4, 1, 2, 2, 2, 2, false);
  std::vector<double> y(4);
  std::vector<std::int64_t> argmax(4);
  keel::kernels::max_pool2d_forward(g, x.data(), y.data(), argmax.data());
  CHECK(std::isnan(y[0]));
  CHECK(argmax[0] == 1);  // NaN wins over the larger 7 that follows it
  CHECK(y[1] == 2);
  CHECK(argmax[1] == 2);  // first of four ties
  CHECK(y[2] == -inf);
  CHECK(argmax[2] == 8);
  CHECK(std::isnan(y[3]));
  CHECK(argmax[3] == 11);  // the first of two NaNs
  std::vector<double> gx(16, 9.0);
  const std::vector<double> gy = {1, 2, 3, 4};
  keel::kernels::max_pool2d_backward(g, gy.data(), argmax.data(), gx.data());
  const std::vector<double> want_gx = {0, 1, 2, 0, 0, 0, 0, 0, 3, 0, 0, 4, 0, 0, 0, 0};
  CHECK(gx == want_gx);
  std::fill(gx.begin(), gx.end(), 9.0);
  keel::kernels::max_pool2d_backward_2x2(g, x.data(), y.data(), gy.data(), gx.data());
  CHECK(gx == want_gx);
}

TEST_CASE("pooling results are bitwise identical on 1 and 2 threads", "[pool]") {
  const Layout layout = GENERATE(Layout::NHWC, Layout::NCHW);
  const PoolCase k = GENERATE(PoolCase{64, 26, 26, 32, 3, 3, 2, 2, true}, PoolCase{64, 26, 26, 32, 2, 2, 2, 2, false});
  const Reference ref = reference_for(k, layout);
  const Pool2dGeometry g = geometry_for(k, layout);
  const auto x = random_values<float>(ref.x_size(), 91);
  const auto gy = random_values<float>(ref.y_size(), 92);
  keel_test::require_same_on_1_and_2_threads([&] {
    std::vector<float> y(ref.y_size()), gx(ref.x_size()), ya(ref.y_size()), gxa(ref.x_size());
    std::vector<std::int64_t> argmax(ref.y_size());
    keel::kernels::max_pool2d_forward(g, x.data(), y.data(), argmax.data());
    keel::kernels::max_pool2d_backward(g, gy.data(), argmax.data(), gx.data());
    if (keel::kernels::max_pool2d_is_2x2(g)) keel::kernels::max_pool2d_backward_2x2(g, x.data(), y.data(), gy.data(), gx.data());
    keel::kernels::avg_pool2d_forward(g, x.data(), ya.data());
    keel::kernels::avg_pool2d_backward(g, gy.data(), gxa.data());
    for (auto* part : {&gx, &ya, &gxa}) y.insert(y.end(), part->begin(), part->end());
    for (std::int64_t a : argmax) y.push_back(static_cast<float>(a));
    return y;
  });
}

TEST_CASE("pool2d_geometry follows the Keras/TF rules and rejects bad arguments", "[pool]") {
  using keel::kernels::pool2d_geometry;
  const auto nhwc = Layout::NHWC;
  CHECK(pool2d_geometry(nhwc, 64, 26, 26, 32, 2, 2, 2, 2, false).out_h == 13);
  CHECK(pool2d_geometry(nhwc, 64, 11, 11, 64, 2, 2, 2, 2, false).out_w == 5);
  const auto same = pool2d_geometry(nhwc, 1, 11, 11, 1, 2, 2, 2, 2, true);  // out 6, one padded row after
  CHECK(same.out_h == 6);
  CHECK(same.pad_top == 0);
  CHECK(pool2d_geometry(nhwc, 1, 5, 5, 1, 3, 3, 1, 1, true).pad_left == 1);
  CHECK_THAT(message_of<keel::ShapeError>([&] { pool2d_geometry(nhwc, 1, 1, 5, 1, 2, 2, 2, 2, false); }),
             Contains("pool2d") && Contains("height 1") && Contains("effective kernel height 2"));
  CHECK_THAT(message_of<keel::ShapeError>([&] { pool2d_geometry(nhwc, 1, 5, 5, 0, 2, 2, 2, 2, false); }),
             Contains("pool2d") && Contains("channels") && Contains("got 0"));
  CHECK_THAT(message_of<keel::ValueError>([&] { pool2d_geometry(nhwc, 1, 5, 5, 1, 2, 0, 2, 2, false); }),
             Contains("pool2d") && Contains("pool_w") && Contains("got 0"));
  CHECK_THAT(message_of<keel::ValueError>([&] { pool2d_geometry(nhwc, 1, 5, 5, 1, 2, 2, 2, -2, true); }),
             Contains("pool2d") && Contains("stride_w") && Contains("got -2"));
  const auto g = pool2d_geometry(nhwc, 1, 4, 4, 1, 2, 2, 2, 2, false);
  std::vector<float> gy(4), gx(16);
  CHECK_THAT(message_of<keel::UsageError>([&] { keel::kernels::max_pool2d_backward(g, gy.data(), nullptr, gx.data()); }),
             Contains("max_pool2d_backward") && Contains("argmax"));
}
