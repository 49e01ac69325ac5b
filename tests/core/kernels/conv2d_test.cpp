#include "keel/core/kernels/conv2d.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <vector>

#include "core/kernels/kernel_test_support.h"
#include "keel/core/error.h"
#include "keel/core/kernels/conv2d_direct.h"
#include "keel/core/kernels/simd.h"

using Catch::Matchers::Contains;
using keel::kernels::Conv2dGeometry;
using keel::kernels::Layout;
using keel_test::Dim;
using keel_test::expected_dim;
using keel_test::message_of;
using keel_test::random_values;
using keel_test::require_close;
using keel_test::to_double;

namespace {

struct ConvCase {
  std::int64_t n, h, w, c, oc, kh, kw, sh, sw, dh, dw;
  bool same;
};

struct Reference {
  ConvCase k;
  Layout layout;
  Dim dh, dw;

  std::int64_t x_size() const { return k.n * k.h * k.w * k.c; }
  std::int64_t y_size() const { return k.n * dh.out * dw.out * k.oc; }
  std::int64_t kernel_size() const { return k.kh * k.kw * k.c * k.oc; }
  std::int64_t x_at(std::int64_t n, std::int64_t h, std::int64_t w, std::int64_t c) const {
    return keel_test::flat_index(layout, n, h, w, c, k.h, k.w, k.c);
  }
  std::int64_t y_at(std::int64_t n, std::int64_t h, std::int64_t w, std::int64_t c) const {
    return keel_test::flat_index(layout, n, h, w, c, dh.out, dw.out, k.oc);
  }
  // fn(x index, y index, kernel index, out channel) for every product term of the convolution's definition.
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
                for (std::int64_t o = 0; o < k.oc; ++o)
                  fn(x_at(n, ih, iw, c), y_at(n, oh, ow, o), ((i * k.kw + j) * k.c + c) * k.oc + o, o);
            }
  }
  std::vector<double> forward(const std::vector<double>& x, const std::vector<double>& kern,
                              const std::vector<double>* bias) const {
    std::vector<double> y(y_size(), 0.0);
    if (bias)
      for (std::int64_t n = 0; n < k.n; ++n)
        for (std::int64_t h = 0; h < dh.out; ++h)
          for (std::int64_t w = 0; w < dw.out; ++w)
            for (std::int64_t o = 0; o < k.oc; ++o) y[y_at(n, h, w, o)] = (*bias)[o];
    for_each_tap([&](std::int64_t xi, std::int64_t yi, std::int64_t ki, std::int64_t) { y[yi] += x[xi] * kern[ki]; });
    return y;
  }
  std::vector<double> backward_input(const std::vector<double>& gy, const std::vector<double>& kern) const {
    std::vector<double> gx(x_size(), 0.0);
    for_each_tap([&](std::int64_t xi, std::int64_t yi, std::int64_t ki, std::int64_t) { gx[xi] += gy[yi] * kern[ki]; });
    return gx;
  }
  std::vector<double> backward_kernel(const std::vector<double>& x, const std::vector<double>& gy) const {
    std::vector<double> gk(kernel_size(), 0.0);
    for_each_tap([&](std::int64_t xi, std::int64_t yi, std::int64_t ki, std::int64_t) { gk[ki] += x[xi] * gy[yi]; });
    return gk;
  }
  std::vector<double> backward_bias(const std::vector<double>& gy) const {
    std::vector<double> gb(k.oc, 0.0);
    for (std::int64_t n = 0; n < k.n; ++n)
      for (std::int64_t h = 0; h < dh.out; ++h)
        for (std::int64_t w = 0; w < dw.out; ++w)
          for (std::int64_t o = 0; o < k.oc; ++o) gb[o] += gy[y_at(n, h, w, o)];
    return gb;
  }
};

Reference reference_for(const ConvCase& k, Layout layout) {
  return {k, layout, expected_dim(k.h, k.kh, k.sh, k.dh, k.same), expected_dim(k.w, k.kw, k.sw, k.dw, k.same)};
}

Conv2dGeometry geometry_for(const ConvCase& k, Layout layout) {
  return keel::kernels::conv2d_geometry(layout, k.n, k.h, k.w, k.c, k.oc, k.kh, k.kw, k.sh, k.sw, k.dh, k.dw, k.same);
}

// n, h, w, c, oc, kh, kw, sh, sw, dh, dw, same
const std::vector<ConvCase> kCases = {
    {1, 5, 5, 1, 1, 3, 3, 1, 1, 1, 1, false},    // smallest
    {2, 7, 6, 3, 4, 3, 2, 1, 1, 1, 1, true},     // non-square kernel, same
    {2, 7, 7, 2, 3, 3, 3, 2, 2, 1, 1, true},     // odd input, stride 2, same
    {3, 8, 9, 2, 5, 2, 3, 2, 2, 1, 1, false},    // stride 2 valid, leftover columns
    {2, 9, 8, 3, 2, 3, 3, 1, 1, 2, 2, true},     // dilation 2, same
    {1, 10, 7, 2, 3, 3, 2, 1, 1, 2, 1, false},   // dilation in one dimension only
    {3, 5, 4, 6, 7, 1, 1, 1, 1, 1, 1, false},    // pointwise
    {2, 5, 5, 3, 4, 1, 1, 2, 2, 1, 1, true},     // 1x1 stride 2
    {2, 9, 1, 2, 3, 3, 1, 1, 1, 1, 1, true},     // one pixel wide
    {2, 1, 9, 2, 3, 1, 3, 1, 2, 1, 1, false},    // one pixel high, stride 2
    {2, 1, 1, 3, 2, 3, 3, 1, 1, 1, 1, true},     // one pixel, all padding
    {2, 3, 3, 2, 2, 3, 3, 1, 1, 1, 1, false},    // kernel as large as the input
    {2, 4, 5, 2, 3, 4, 4, 1, 1, 1, 1, true},     // even kernel: pad 1 before, 2 after
    {2, 6, 6, 2, 2, 5, 5, 2, 2, 1, 1, true},     // odd total padding with stride 2
    {19, 6, 5, 2, 3, 3, 3, 1, 1, 1, 1, true},    // several chunks, the last one short
    {11, 13, 13, 8, 16, 3, 3, 1, 1, 1, 1, false},  // reference-net-like, several chunks
    // Patches of at most kDirectMaxPatch values take the direct NHWC path: whole and partial
    // vector blocks of output channels, groups of four pixels and the pixels left over.
    {5, 12, 11, 1, 35, 3, 3, 1, 1, 1, 1, false},   // first-layer-like, 35 filters
    {3, 10, 9, 3, 20, 3, 3, 2, 2, 1, 1, true},     // RGB, stride 2, same
    {2, 11, 10, 2, 17, 3, 3, 1, 1, 2, 2, true},    // dilation 2, same, 17 filters
    {3, 9, 10, 1, 32, 3, 3, 1, 1, 1, 1, false},    // 3x3 over 1 channel: sums kept in registers
    {2, 8, 7, 3, 16, 3, 3, 2, 2, 1, 1, true},      // 3x3 over 3 channels, stride 2, same: the same
    {2, 7, 7, 5, 6, 3, 3, 1, 1, 1, 1, true},       // patch of 45: the GEMM path with padding
};

}  // namespace

TEST_CASE("conv2d's direct forward streams a large batch's output to memory, with the same values", "[conv]") {
  // 3x3 over one channel into 32 filters on 200 x 28 x 28 images: the pass moves 17.9 MB, so y is written
  // with streaming stores (simd.h's kStreamBytes); with a fused ReLU it is not (the ReLU reads y back).
  const ConvCase k{200, 28, 28, 1, 32, 3, 3, 1, 1, 1, 1, false};
  const Reference ref = reference_for(k, Layout::NHWC);
  const Conv2dGeometry g = geometry_for(k, Layout::NHWC);
  REQUIRE(keel::kernels::conv2d_direct_applicable(g));
  REQUIRE((ref.x_size() + ref.y_size()) * std::int64_t(sizeof(float)) >= keel::kernels::kStreamBytes);
  const auto x = random_values<float>(ref.x_size(), 81), kern = random_values<float>(ref.kernel_size(), 82),
             bias = random_values<float>(k.oc, 83);
  const auto bias_d = to_double(bias);
  const std::vector<double> want = ref.forward(to_double(x), to_double(kern), &bias_d);
  keel_test::AlignedValues<float> y(ref.y_size(), 7.0f);
  keel::kernels::conv2d_forward_direct<float>(g, x.data(), kern.data(), bias.data(), y.data(), false);
  require_close(y.values(), want, 1e-5);
  std::vector<double> want_relu = want;
  for (double& v : want_relu) v = std::max(v, 0.0);
  keel_test::AlignedValues<float> y_relu(ref.y_size(), 7.0f);
  keel::kernels::conv2d_forward_direct<float>(g, x.data(), kern.data(), bias.data(), y_relu.data(), true);
  require_close(y_relu.values(), want_relu, 1e-5);
}

TEMPLATE_TEST_CASE("conv2d forward and backward match direct loops", "[conv]", float, double) {
  const std::size_t index = GENERATE(range(std::size_t{0}, kCases.size()));
  const Layout layout = GENERATE(Layout::NHWC, Layout::NCHW);
  const ConvCase& k = kCases[index];
  INFO("case " << index << ", layout " << (layout == Layout::NHWC ? "NHWC" : "NCHW"));
  const Reference ref = reference_for(k, layout);
  const Conv2dGeometry g = geometry_for(k, layout);
  REQUIRE(g.out_h == ref.dh.out);
  REQUIRE(g.out_w == ref.dw.out);
  REQUIRE(g.pad_top == ref.dh.pad);
  REQUIRE(g.pad_left == ref.dw.pad);

  const auto x = random_values<TestType>(ref.x_size(), 1 + index);
  const auto kern = random_values<TestType>(ref.kernel_size(), 100 + index);
  const auto bias = random_values<TestType>(k.oc, 200 + index);
  const auto gy = random_values<TestType>(ref.y_size(), 300 + index);
  const double tol = keel_test::tolerance<TestType>();
  const auto x_d = to_double(x), kern_d = to_double(kern), bias_d = to_double(bias), gy_d = to_double(gy);

  std::vector<TestType> y(ref.y_size(), TestType(7));  // stale contents must be overwritten
  keel::kernels::conv2d_forward(g, x.data(), kern.data(), bias.data(), y.data());
  require_close(y, ref.forward(x_d, kern_d, &bias_d), tol);
  keel::kernels::conv2d_forward<TestType>(g, x.data(), kern.data(), nullptr, y.data());
  require_close(y, ref.forward(x_d, kern_d, nullptr), tol);

  std::vector<TestType> gx(ref.x_size(), TestType(7));
  keel::kernels::conv2d_backward_input(g, gy.data(), kern.data(), gx.data());
  require_close(gx, ref.backward_input(gy_d, kern_d), tol);

  std::vector<TestType> gk(ref.kernel_size(), TestType(7)), gb(k.oc, TestType(7));
  keel::kernels::conv2d_backward_kernel(g, x.data(), gy.data(), gk.data(), gb.data());
  require_close(gk, ref.backward_kernel(x_d, gy_d), tol);
  require_close(gb, ref.backward_bias(gy_d), tol);
  std::fill(gk.begin(), gk.end(), TestType(7));
  keel::kernels::conv2d_backward_kernel<TestType>(g, x.data(), gy.data(), gk.data(), nullptr);
  require_close(gk, ref.backward_kernel(x_d, gy_d), tol);
}

TEST_CASE("conv2d backward kernels are the adjoints of the forward map", "[conv]") {
  const std::size_t index = GENERATE(2, 4, 7, 13);
  const Layout layout = GENERATE(Layout::NHWC, Layout::NCHW);
  const Reference ref = reference_for(kCases[index], layout);
  const Conv2dGeometry g = geometry_for(kCases[index], layout);
  const auto x = random_values<double>(ref.x_size(), 11);
  const auto kern = random_values<double>(ref.kernel_size(), 12);
  const auto gy = random_values<double>(ref.y_size(), 13);
  std::vector<double> y(ref.y_size()), gx(ref.x_size()), gk(ref.kernel_size());
  keel::kernels::conv2d_forward<double>(g, x.data(), kern.data(), nullptr, y.data());
  keel::kernels::conv2d_backward_input(g, gy.data(), kern.data(), gx.data());
  keel::kernels::conv2d_backward_kernel<double>(g, x.data(), gy.data(), gk.data(), nullptr);
  // <grad_y, conv(x, K)> = <backward_input(grad_y), x> = <backward_kernel(grad_y), K>
  const double lhs = keel_test::dot(gy, y);
  CHECK(keel_test::dot(gx, x) == Approx(lhs).epsilon(1e-12));
  CHECK(keel_test::dot(gk, kern) == Approx(lhs).epsilon(1e-12));
}

TEST_CASE("conv2d gradients agree with central finite differences", "[conv]") {
  const Layout layout = GENERATE(Layout::NHWC, Layout::NCHW);
  const ConvCase k{2, 4, 3, 2, 3, 2, 3, 2, 1, 1, 1, true};
  const Reference ref = reference_for(k, layout);
  const Conv2dGeometry g = geometry_for(k, layout);
  auto x = random_values<double>(ref.x_size(), 21);
  auto kern = random_values<double>(ref.kernel_size(), 22);
  auto bias = random_values<double>(k.oc, 23);
  const auto w = random_values<double>(ref.y_size(), 24);  // loss = <w, conv(x, K, b)>
  auto loss = [&] {
    std::vector<double> y(ref.y_size());
    keel::kernels::conv2d_forward(g, x.data(), kern.data(), bias.data(), y.data());
    return keel_test::dot(w, y);
  };
  std::vector<double> gx(ref.x_size()), gk(ref.kernel_size()), gb(k.oc);
  keel::kernels::conv2d_backward_input(g, w.data(), kern.data(), gx.data());
  keel::kernels::conv2d_backward_kernel(g, x.data(), w.data(), gk.data(), gb.data());
  const double h = 1e-5;
  auto check = [&](std::vector<double>& param, const std::vector<double>& grad) {
    for (std::size_t i = 0; i < param.size(); ++i) {
      const double saved = param[i];
      param[i] = saved + h;
      const double up = loss();
      param[i] = saved - h;
      const double down = loss();
      param[i] = saved;
      INFO("element " << i);
      CHECK((up - down) / (2 * h) == Approx(grad[i]).margin(1e-8));
    }
  };
  check(x, gx);
  check(kern, gk);
  check(bias, gb);
}

TEST_CASE("conv2d results are bitwise identical on 1 and 2 threads", "[conv]") {
  // Many chunks; the reference net's second layer; one image large enough for the GEMM to split itself.
  const ConvCase k = GENERATE(ConvCase{37, 12, 11, 5, 8, 3, 3, 1, 1, 1, 1, true},
                              ConvCase{37, 28, 28, 1, 32, 3, 3, 1, 1, 1, 1, false},
                              ConvCase{9, 14, 13, 3, 24, 3, 3, 1, 1, 1, 1, true},
                              ConvCase{64, 13, 13, 32, 64, 3, 3, 1, 1, 1, 1, false},
                              ConvCase{1, 64, 64, 16, 32, 3, 3, 1, 1, 1, 1, true});
  const Layout layout = GENERATE(Layout::NHWC, Layout::NCHW);
  const Reference ref = reference_for(k, layout);
  const Conv2dGeometry g = geometry_for(k, layout);
  const auto x = random_values<float>(ref.x_size(), 31);
  const auto kern = random_values<float>(ref.kernel_size(), 32);
  const auto bias = random_values<float>(k.oc, 33);
  const auto gy = random_values<float>(ref.y_size(), 34);
  keel_test::require_same_on_1_and_2_threads([&] {
    std::vector<float> y(ref.y_size()), gx(ref.x_size()), gk(ref.kernel_size()), gb(k.oc);
    keel::kernels::conv2d_forward(g, x.data(), kern.data(), bias.data(), y.data());
    keel::kernels::conv2d_backward_input(g, gy.data(), kern.data(), gx.data());
    keel::kernels::conv2d_backward_kernel(g, x.data(), gy.data(), gk.data(), gb.data());
    y.insert(y.end(), gx.begin(), gx.end());
    y.insert(y.end(), gk.begin(), gk.end());
    y.insert(y.end(), gb.begin(), gb.end());
    return y;
  });
}

TEST_CASE("conv2d_geometry follows the Keras/TF padding rules", "[conv]") {
  using keel::kernels::conv2d_geometry;
  const auto nhwc = Layout::NHWC;
  // Hand-computed: 28 valid 3x3 -> 26; 13 valid -> 11.
  CHECK(conv2d_geometry(nhwc, 64, 28, 28, 1, 32, 3, 3, 1, 1, 1, 1, false).out_h == 26);
  CHECK(conv2d_geometry(nhwc, 64, 13, 13, 32, 64, 3, 3, 1, 1, 1, 1, false).out_w == 11);
  // 7 same stride 2 kernel 3: out 4, padding 2 in total, 1 before.
  const auto a = conv2d_geometry(nhwc, 1, 7, 7, 1, 1, 3, 3, 2, 2, 1, 1, true);
  CHECK(a.out_h == 4);
  CHECK(a.pad_top == 1);
  // 8 same stride 2 kernel 3: out 4, padding 1 in total, all of it after.
  const auto b = conv2d_geometry(nhwc, 1, 8, 8, 1, 1, 3, 3, 2, 2, 1, 1, true);
  CHECK(b.out_w == 4);
  CHECK(b.pad_left == 0);
  // 9 valid kernel 3 dilation 2 (effective 5): out 5.
  CHECK(conv2d_geometry(nhwc, 1, 9, 9, 1, 1, 3, 3, 1, 1, 2, 2, false).out_h == 5);
  // 5 same kernel 3 dilation 2: out 5, padding 4 in total, 2 before.
  CHECK(conv2d_geometry(nhwc, 1, 5, 5, 1, 1, 3, 3, 1, 1, 2, 2, true).pad_top == 2);
}

TEST_CASE("conv2d_geometry rejects bad arguments with messages naming them", "[conv]") {
  using keel::kernels::conv2d_geometry;
  const auto nhwc = Layout::NHWC;
  CHECK_THAT(message_of<keel::ShapeError>([&] { conv2d_geometry(nhwc, 1, 2, 8, 1, 1, 3, 3, 1, 1, 1, 1, false); }),
             Contains("conv2d") && Contains("height 2") && Contains("effective kernel height 3"));
  CHECK_THAT(message_of<keel::ShapeError>([&] { conv2d_geometry(nhwc, 1, 8, 4, 1, 1, 3, 3, 1, 1, 1, 2, false); }),
             Contains("conv2d") && Contains("width 4") && Contains("effective kernel width 5"));
  CHECK_THAT(message_of<keel::ValueError>([&] { conv2d_geometry(nhwc, 1, 8, 8, 1, 1, 3, 3, 2, 1, 1, 2, true); }),
             Contains("conv2d") && Contains("strides (2, 1)") && Contains("dilation_rate (1, 2)"));
  CHECK_THAT(message_of<keel::ShapeError>([&] { conv2d_geometry(nhwc, 0, 8, 8, 1, 1, 3, 3, 1, 1, 1, 1, true); }),
             Contains("conv2d") && Contains("batch") && Contains("got 0"));
  CHECK_THAT(message_of<keel::ValueError>([&] { conv2d_geometry(nhwc, 1, 8, 8, 1, 0, 3, 3, 1, 1, 1, 1, true); }),
             Contains("conv2d") && Contains("out_c") && Contains("got 0"));
  CHECK_THAT(message_of<keel::ValueError>([&] { conv2d_geometry(nhwc, 1, 8, 8, 1, 1, 3, -1, 1, 1, 1, 1, true); }),
             Contains("kernel_w") && Contains("got -1"));
  CHECK_THAT(message_of<keel::ValueError>([&] { conv2d_geometry(nhwc, 1, 8, 8, 1, 1, 3, 3, 0, 1, 1, 1, true); }),
             Contains("stride_h") && Contains("got 0"));
  CHECK_THAT(message_of<keel::ValueError>([&] { conv2d_geometry(nhwc, 1, 8, 8, 1, 1, 3, 3, 1, 1, 1, 0, true); }),
             Contains("dilation_w") && Contains("got 0"));
}
