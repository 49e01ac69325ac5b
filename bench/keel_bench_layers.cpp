// Dense and Conv2D layers (forward, and forward+backward through autograd) against the raw
// cblas_sgemm calls that bound them: one GEMM forward, three for forward+backward.
#include <cblas.h>
#include <fmt/format.h>

#include <iostream>
#include <keel/keel.h>

#include "bench_util.h"

namespace {

using keel::Tensor;
using keel::bench::time_ms;

double raw_gemm_ms(std::int64_t m, std::int64_t n, std::int64_t k) {
  Tensor a = keel::random::normal({m, k}, 0, 1, 1), b = keel::random::normal({k, n}, 0, 1, 2), c = Tensor::empty({m, n});
  return time_ms([&] {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.f, a.data<float>(), k, b.data<float>(), n, 0.f,
                c.data<float>(), n);
  }).median_ms;
}

void report(const std::string& what, keel::layers::Layer& layer, const Tensor& x, double gemm_ms) {
  auto fwd = time_ms([&] {
    keel::NoGrad no_grad;
    layer(x);
  });
  Tensor xg = keel::set_requires_grad(x.clone());
  auto fwd_bwd = time_ms([&] {
    Tensor y = layer(xg, true);
    keel::backward(y, Tensor::ones(y.shape()));
    for (const auto& v : layer.weights()) v.zero_grad();
    keel::zero_grad(xg);
  });
  std::cout << fmt::format("  {:<40} forward {:7.3f} ms ({:3.0f}% of raw GEMM time) | forward+backward {:7.3f} ms "
                           "({:3.0f}% of three raw GEMMs)\n",
                           what, fwd.median_ms, 100 * gemm_ms / fwd.median_ms, fwd_bwd.median_ms,
                           100 * 3 * gemm_ms / fwd_bwd.median_ms);
}

keel::bench::Register layers_case("layers", "Dense and Conv2D vs raw GEMM", [] {
  std::cout << "Layers vs raw GEMM (float32; share = raw GEMM time / layer time)\n";
  {
    auto dense = keel::layers::Dense({.units = 128, .activation = "relu"});
    Tensor x = keel::random::normal({64, 1600}, 0, 1, 3);
    report("Dense 1600->128 relu, batch 64", *dense, x, raw_gemm_ms(64, 128, 1600));
  }
  {
    auto dense = keel::layers::Dense({.units = 512, .activation = "relu"});
    Tensor x = keel::random::normal({128, 784}, 0, 1, 4);
    report("Dense 784->512 relu, batch 128", *dense, x, raw_gemm_ms(128, 512, 784));
  }
  {
    auto conv = keel::layers::Conv2D({.filters = 64, .kernel_size = 3});
    Tensor x = keel::random::normal({64, 13, 13, 32}, 0, 1, 5);
    report("Conv2D 13x13x32->64 3x3, batch 64", *conv, x, raw_gemm_ms(64 * 11 * 11, 64, 9 * 32));
  }
  {
    auto conv = keel::layers::Conv2D({.filters = 32, .kernel_size = 3});
    Tensor x = keel::random::normal({64, 28, 28, 1}, 0, 1, 6);
    report("Conv2D 28x28x1->32 3x3, batch 64", *conv, x, raw_gemm_ms(64 * 26 * 26, 32, 9));
  }
});

}  // namespace
