#include "keel/core/kernels/depthwise_conv2d.h"

#include <catch2/catch.hpp>

#include <vector>

#include "core/kernels/kernel_test_support.h"
#include "keel/core/error.h"

using Catch::Matchers::Contains;
using keel::kernels::DepthwiseConv2dGeometry;
using keel::kernels::Layout;
using keel_test::Dim;
using keel_test::expected_dim;
using keel_test::message_of;
using keel_test::random_values;
using keel_test::require_close;
using keel_test::to_double;

namespace {

struct DepthwiseCase {
  std::int64_t n, h, w, c, mult, kh, kw, sh, sw, dh, dw;
  bool same;
};

DepthwiseConv2dGeometry geometry_for(const DepthwiseCase& k) {
  return keel::kernels::depthwise_conv2d_geometry(k.n, k.h, k.w, k.c, k.mult, k.kh, k.kw, k.sh, k.sw, k.dh, k.dw,
                                                  k.same);
}

// The definition in depthwise_conv2d.h, term by term, in double.
struct Reference {
  DepthwiseCase k;
  Dim dh, dw;

  std::int64_t oc() const { return k.c * k.mult; }
  std::int64_t x_size() const { return k.n * k.h * k.w * k.c; }
  std::int64_t y_size() const { return k.n * dh.out * dw.out * oc(); }
  std::int64_t kernel_size() const { return k.kh * k.kw * oc(); }

  // fn(x index, y index, kernel index) for every product term.
  template <class Fn>
  void for_each_tap(Fn&& fn) const {
    for (std::int64_t n = 0; n < k.n; ++n)
      for (std::int64_t oh = 0; oh < dh.out; ++oh)
        for (std::int64_t ow = 0; ow < dw.out; ++ow)
          for (std::int64_t i = 0; i < k.kh; ++i)
            for (std::int64_t j = 0; j < k.kw; ++j) {
              const std::int64_t ih = oh * k.sh - dh.pad + i * k.dh, iw = ow * k.sw - dw.pad + j * k.dw;
              if (ih < 0 || ih >= k.h || iw < 0 || iw >= k.w) continue;
              for (std::int64_t c = 0; c < k.c; ++c)
                for (std::int64_t m = 0; m < k.mult; ++m) {
                  const std::int64_t o = c * k.mult + m;
                  fn(((n * k.h + ih) * k.w + iw) * k.c + c, ((n * dh.out + oh) * dw.out + ow) * oc() + o,
                     (i * k.kw + j) * oc() + o);
                }
            }
  }
  std::vector<double> forward(const std::vector<double>& x, const std::vector<double>& kern,
                              const std::vector<double>& bias) const {
    std::vector<double> y(y_size());
    for (std::int64_t p = 0; p < y_size(); ++p) y[p] = bias[p % oc()];
    for_each_tap([&](std::int64_t xi, std::int64_t yi, std::int64_t ki) { y[yi] += x[xi] * kern[ki]; });
    return y;
  }
  std::vector<double> backward_input(const std::vector<double>& gy, const std::vector<double>& kern) const {
    std::vector<double> gx(x_size(), 0.0);
    for_each_tap([&](std::int64_t xi, std::int64_t yi, std::int64_t ki) { gx[xi] += gy[yi] * kern[ki]; });
    return gx;
  }
  std::vector<double> backward_kernel(const std::vector<double>& x, const std::vector<double>& gy) const {
    std::vector<double> gk(kernel_size(), 0.0);
    for_each_tap([&](std::int64_t xi, std::int64_t yi, std::int64_t ki) { gk[ki] += x[xi] * gy[yi]; });
    return gk;
  }
  std::vector<double> backward_bias(const std::vector<double>& gy) const {
    std::vector<double> gb(oc(), 0.0);
    for (std::int64_t p = 0; p < y_size(); ++p) gb[p % oc()] += gy[p];
    return gb;
  }
};

Reference reference_for(const DepthwiseCase& k) {
  return {k, expected_dim(k.h, k.kh, k.sh, k.dh, k.same), expected_dim(k.w, k.kw, k.sw, k.dw, k.same)};
}

// Channel counts below, at and above a vector's width (16 floats, 8 doubles), multipliers 1 to 3, strides,
// dilations, both paddings, non-square kernels, a "valid" window that leaves the last columns unread, rows
// of more than 8 output pixels.
const std::vector<DepthwiseCase> kCases = {
    {2, 5, 5, 3, 1, 3, 3, 1, 1, 1, 1, false},
    {2, 5, 6, 3, 1, 3, 3, 1, 1, 1, 1, true},
    {3, 7, 6, 16, 1, 3, 3, 2, 2, 1, 1, true},
    {1, 8, 7, 17, 2, 3, 2, 1, 1, 2, 2, true},
    {2, 9, 9, 8, 3, 3, 3, 2, 1, 1, 1, false},
    {1, 6, 8, 5, 2, 2, 3, 1, 2, 1, 1, true},
    {2, 7, 8, 24, 1, 5, 5, 1, 1, 1, 1, true},
    {1, 6, 7, 4, 2, 3, 3, 1, 1, 2, 1, false},
    {5, 4, 4, 2, 1, 1, 1, 1, 1, 1, 1, false},
    {1, 10, 9, 33, 1, 3, 3, 3, 3, 1, 1, false},
    // Rows long enough for the 3 x 3 loops' blocks of 8 pixels and a tail: contiguous, strided and dilated
    // along the row.
    {2, 6, 19, 17, 1, 3, 3, 1, 1, 1, 1, true},
    {1, 7, 21, 9, 2, 3, 3, 1, 2, 1, 1, true},
    {1, 8, 20, 10, 1, 3, 3, 1, 1, 1, 2, false},
};

}  // namespace

TEST_CASE("depthwise_conv2d forward on a hand-computed case", "[conv][depthwise]") {
  // One 3x3 image of 2 channels, 2x2 kernel, multiplier 2, valid: output [1, 2, 2, 4].
  // Channel 0 holds 1..9, channel 1 holds 10 * (1..9).
  std::vector<float> x(18);
  for (int p = 0; p < 9; ++p) {
    x[p * 2] = static_cast<float>(p + 1);
    x[p * 2 + 1] = static_cast<float>(10 * (p + 1));
  }
  // kernel[i, j, c, m]: channel 0 multiplier 0 sums the window, multiplier 1 takes its top-left value;
  // channel 1 multiplier 0 takes the bottom-right value, multiplier 1 weights the top row by 1 and -1.
  const std::vector<float> kernel = {1, 1, 0, 1,   // (0, 0)
                                     1, 0, 0, -1,  // (0, 1)
                                     1, 0, 0, 0,   // (1, 0)
                                     1, 0, 1, 0};  // (1, 1)
  const std::vector<float> bias = {0, 0, 0, 100};
  const auto g = keel::kernels::depthwise_conv2d_geometry(1, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, false);
  REQUIRE(g.out_h == 2);
  std::vector<float> y(16, 7.f);
  keel::kernels::depthwise_conv2d_forward(g, x.data(), kernel.data(), bias.data(), y.data());
  // Windows of channel 0 (top-left 1, 2, 4, 5): sums 12, 16, 24, 28. Channel 1's bottom-right values 50, 60,
  // 80, 90; top rows 10 - 20 = -10 everywhere, plus 100.
  require_close(y, {12, 1, 50, 90, 16, 2, 60, 90, 24, 4, 80, 90, 28, 5, 90, 90}, 0);
}

TEMPLATE_TEST_CASE("depthwise_conv2d forward and backward match the definition", "[conv][depthwise]", float, double) {
  const std::size_t index = GENERATE(range(std::size_t{0}, kCases.size()));
  const DepthwiseCase& k = kCases[index];
  INFO("case " << index);
  const Reference ref = reference_for(k);
  const DepthwiseConv2dGeometry g = geometry_for(k);
  REQUIRE(g.out_h == ref.dh.out);
  REQUIRE(g.out_w == ref.dw.out);
  REQUIRE(g.pad_top == ref.dh.pad);
  REQUIRE(g.pad_left == ref.dw.pad);

  const auto x = random_values<TestType>(ref.x_size(), 1 + index);
  const auto kern = random_values<TestType>(ref.kernel_size(), 100 + index);
  const auto bias = random_values<TestType>(ref.oc(), 200 + index);
  const auto gy = random_values<TestType>(ref.y_size(), 300 + index);
  const double tol = keel_test::tolerance<TestType>();
  const auto x_d = to_double(x), kern_d = to_double(kern), gy_d = to_double(gy);

  std::vector<TestType> y(ref.y_size(), TestType(7));  // stale contents must be overwritten
  keel::kernels::depthwise_conv2d_forward(g, x.data(), kern.data(), bias.data(), y.data());
  require_close(y, ref.forward(x_d, kern_d, to_double(bias)), tol);
  keel::kernels::depthwise_conv2d_forward<TestType>(g, x.data(), kern.data(), nullptr, y.data());
  require_close(y, ref.forward(x_d, kern_d, std::vector<double>(ref.oc(), 0.0)), tol);

  std::vector<TestType> gx(ref.x_size(), TestType(7));
  keel::kernels::depthwise_conv2d_backward_input(g, gy.data(), kern.data(), gx.data());
  require_close(gx, ref.backward_input(gy_d, kern_d), tol);

  std::vector<TestType> gk(ref.kernel_size(), TestType(7)), gb(ref.oc(), TestType(7));
  keel::kernels::depthwise_conv2d_backward_kernel(g, x.data(), gy.data(), gk.data(), gb.data());
  require_close(gk, ref.backward_kernel(x_d, gy_d), tol);
  require_close(gb, ref.backward_bias(gy_d), tol);
  std::fill(gk.begin(), gk.end(), TestType(7));
  keel::kernels::depthwise_conv2d_backward_kernel<TestType>(g, x.data(), gy.data(), gk.data(), nullptr);
  require_close(gk, ref.backward_kernel(x_d, gy_d), tol);

  // All three in one call: one sweep for both gradients when the strides are 1 and the sizes "same".
  for (auto* v : {&gx, &gk}) std::fill(v->begin(), v->end(), TestType(7));
  std::fill(gb.begin(), gb.end(), TestType(7));
  keel::kernels::depthwise_conv2d_backward(g, x.data(), gy.data(), kern.data(), gx.data(), gk.data(), gb.data());
  require_close(gx, ref.backward_input(gy_d, kern_d), tol);
  require_close(gk, ref.backward_kernel(x_d, gy_d), tol);
  require_close(gb, ref.backward_bias(gy_d), tol);
}

TEST_CASE("depthwise_conv2d outputs of 16 MiB and more, streamed to memory, match the definition",
          "[conv][depthwise]") {
  // 1 x 260 x 261 x 62 float32: y and grad_x are 16.8 MB each, so both are computed a row at a time and
  // written with streaming stores (simd.h's kStreamBytes). Both start as garbage; a row of 261 * 62 floats
  // is not a multiple of 32 bytes, so most rows start unaligned (the copy's scalar head).
  const DepthwiseCase k{1, 260, 261, 62, 1, 3, 3, 1, 1, 1, 1, true};
  const Reference ref = reference_for(k);
  const DepthwiseConv2dGeometry g = geometry_for(k);
  REQUIRE(ref.y_size() * sizeof(float) >= std::size_t{16} << 20);
  const auto x = random_values<float>(ref.x_size(), 41);
  const auto kern = random_values<float>(ref.kernel_size(), 42);
  const auto bias = random_values<float>(ref.oc(), 43);
  const auto gy = random_values<float>(ref.y_size(), 44);
  std::vector<float> y(ref.y_size(), 7.0f), gx(ref.x_size(), 7.0f), gk(ref.kernel_size()), gb(ref.oc());
  keel::kernels::depthwise_conv2d_forward(g, x.data(), kern.data(), bias.data(), y.data());
  require_close(y, ref.forward(to_double(x), to_double(kern), to_double(bias)), 1e-5);
  keel::kernels::depthwise_conv2d_backward(g, x.data(), gy.data(), kern.data(), gx.data(), gk.data(), gb.data());
  require_close(gx, ref.backward_input(to_double(gy), to_double(kern)), 1e-5);
}

TEST_CASE("depthwise_conv2d results are bitwise identical on 1 and 2 threads", "[conv][depthwise]") {
  // Many images (more units than chunks), one image (bands only), a multiplier with padding.
  const DepthwiseCase k = GENERATE(DepthwiseCase{67, 9, 8, 20, 1, 3, 3, 1, 1, 1, 1, true},
                                   DepthwiseCase{1, 40, 33, 32, 1, 3, 3, 1, 1, 1, 1, true},
                                   DepthwiseCase{9, 13, 12, 7, 2, 3, 3, 2, 2, 1, 1, true});
  const Reference ref = reference_for(k);
  const DepthwiseConv2dGeometry g = geometry_for(k);
  const auto x = random_values<float>(ref.x_size(), 31);
  const auto kern = random_values<float>(ref.kernel_size(), 32);
  const auto bias = random_values<float>(ref.oc(), 33);
  const auto gy = random_values<float>(ref.y_size(), 34);
  keel_test::require_same_on_1_and_2_threads([&] {
    std::vector<float> y(ref.y_size()), gx(ref.x_size()), gk(ref.kernel_size()), gb(ref.oc());
    std::vector<float> gx2(gx.size()), gk2(gk.size()), gb2(gb.size());
    keel::kernels::depthwise_conv2d_forward(g, x.data(), kern.data(), bias.data(), y.data());
    keel::kernels::depthwise_conv2d_backward_input(g, gy.data(), kern.data(), gx.data());
    keel::kernels::depthwise_conv2d_backward_kernel(g, x.data(), gy.data(), gk.data(), gb.data());
    keel::kernels::depthwise_conv2d_backward(g, x.data(), gy.data(), kern.data(), gx2.data(), gk2.data(), gb2.data());
    // The one-sweep path sums the same terms in the same order as the two separate ones.
    REQUIRE(gx2 == gx);
    REQUIRE(gk2 == gk);
    REQUIRE(gb2 == gb);
    return keel_test::joined({&y, &gx, &gk, &gb});
  });
}

TEST_CASE("depthwise_conv2d_geometry rejects bad arguments with messages naming them", "[conv][depthwise]") {
  using keel::kernels::depthwise_conv2d_geometry;
  CHECK_THAT(message_of<keel::ShapeError>([] { depthwise_conv2d_geometry(1, 2, 8, 1, 1, 3, 3, 1, 1, 1, 1, false); }),
             Contains("depthwise_conv2d") && Contains("height 2") && Contains("effective kernel height 3"));
  CHECK_THAT(message_of<keel::ValueError>([] { depthwise_conv2d_geometry(1, 8, 8, 1, 0, 3, 3, 1, 1, 1, 1, true); }),
             Contains("depthwise_conv2d") && Contains("depth_multiplier") && Contains("got 0"));
  CHECK_THAT(message_of<keel::ValueError>([] { depthwise_conv2d_geometry(1, 8, 8, 1, 1, 3, 3, 2, 1, 1, 2, true); }),
             Contains("strides (2, 1)") && Contains("dilation_rate (1, 2)"));
  CHECK_THAT(message_of<keel::ShapeError>([] { depthwise_conv2d_geometry(1, 8, 8, 0, 1, 3, 3, 1, 1, 1, 1, true); }),
             Contains("in_c") && Contains("got 0"));
}
