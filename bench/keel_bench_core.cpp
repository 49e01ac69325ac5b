// Foundation benchmarks: GEMM through keel vs raw cblas_sgemm, memory-bound kernels vs a copy,
// conv2d on the reference convnet's shapes.
#include <cblas.h>
#include <fmt/format.h>

#include <cstring>
#include <iostream>
#include <keel/core/kernels/conv2d.h>
#include <keel/core/kernels/elementwise.h>
#include <keel/core/kernels/gemm.h>
#include <keel/core/kernels/reduce.h>
#include <keel/keel.h>

#include "bench_util.h"

namespace {

using keel::Tensor;
using keel::bench::time_ms;

void print(const std::string& what, const keel::bench::Timing& t, const std::string& extra) {
  std::cout << fmt::format("  {:<44} {:>9.3f} ms  ({:.3f}–{:.3f})  {}\n", what, t.median_ms, t.min_ms, t.max_ms, extra);
}

double copy_bandwidth_gbs(std::int64_t n) {
  Tensor a = Tensor::ones({n}), b = Tensor::empty({n});
  auto t = time_ms([&] {
    keel::parallel::for_each_chunk(0, n, 32768, [&](std::int64_t, std::int64_t s, std::int64_t e) {
      std::memcpy(b.data<float>() + s, a.data<float>() + s, (e - s) * sizeof(float));
    });
  }, 51);
  return 2.0 * n * 4 / (t.median_ms * 1e-3) / 1e9;
}

// The core's FP32 FMA throughput with 512- and 256-bit vectors: twelve independent chains, enough to
// hide the FMA latency, so the figure is the peak the GEMMs are judged against (one thread).
typedef float Float16 __attribute__((vector_size(64)));
typedef float Float8 __attribute__((vector_size(32)));

template <class V>
[[gnu::noinline]] float fma_chains(long iters) {
  constexpr int kChains = 12;
  V acc[kChains];
  const V mul = V{} + 0.9999f, add = V{} + 0.0001f;
  for (int i = 0; i < kChains; ++i) acc[i] = V{} + 0.001f * static_cast<float>(i);
  for (long k = 0; k < iters; ++k) {
#pragma GCC unroll 12
    for (int i = 0; i < kChains; ++i) acc[i] = acc[i] * mul + add;
  }
  float sum = 0;
  for (int i = 0; i < kChains; ++i) sum += acc[i][0];
  return sum;
}

template <class V>
double fma_gflops() {
  constexpr long kIters = 20'000'000;
  volatile float sink = 0;
  auto t = time_ms([&] { sink = fma_chains<V>(kIters); }, 5);
  return 2.0 * 12 * (sizeof(V) / sizeof(float)) * kIters / (t.median_ms * 1e-3) / 1e9;
}

keel::bench::Register peak("gemm", "FMA peak of one core", [] {
  std::cout << fmt::format("FP32 FMA peak of one core: {:.1f} GFLOP/s with 512-bit vectors, {:.1f} with 256-bit\n",
                           fma_gflops<Float16>(), fma_gflops<Float8>());
});

keel::bench::Register gemm("gemm", "keel gemm vs raw cblas_sgemm", [] {
  std::cout << "GEMM (float32): keel::kernels::gemm vs one raw cblas_sgemm call\n";
  struct S { std::int64_t m, n, k; const char* what; };
  for (S s : {S{2048, 2048, 2048, "square 2048"}, S{43264, 32, 9, "conv1 as GEMM (pixels x 32 x 9)"},
              S{7744, 64, 288, "conv2 as GEMM (pixels x 64 x 288)"}, S{64, 128, 1600, "dense 1600->128, batch 64"},
              S{128, 512, 784, "mlp 784->512, batch 128"}}) {
    Tensor a = keel::random::normal({s.m, s.k}, 0, 1, 1), b = keel::random::normal({s.k, s.n}, 0, 1, 2);
    Tensor c = Tensor::empty({s.m, s.n});
    auto keel_t = time_ms([&] {
      keel::kernels::gemm<float>(false, false, s.m, s.n, s.k, 1.f, a.data<float>(), s.k, b.data<float>(), s.n, 0.f,
                                 c.data<float>(), s.n);
    });
    auto raw_t = time_ms([&] {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s.m, s.n, s.k, 1.f, a.data<float>(), s.k,
                  b.data<float>(), s.n, 0.f, c.data<float>(), s.n);
    });
    double flop = 2.0 * s.m * s.n * s.k;
    print(fmt::format("{} keel", s.what), keel_t, fmt::format("{:.1f} GFLOP/s", flop / keel_t.median_ms / 1e6));
    print(fmt::format("{} raw", s.what), raw_t,
          fmt::format("{:.1f} GFLOP/s  keel/raw time {:.3f}", flop / raw_t.median_ms / 1e6, keel_t.median_ms / raw_t.median_ms));
  }
});

keel::bench::Register memory("memory", "elementwise add and per-channel reduction vs copy", [] {
  const std::int64_t n = 64 * 28 * 28 * 32;  // the reference convnet's first activation, 6.4 MB
  double copy = copy_bandwidth_gbs(n);
  std::cout << fmt::format("Memory-bound kernels on {} floats ({:.1f} MB); plain copy: {:.1f} GB/s\n", n, n * 4 / 1e6, copy);
  Tensor a = Tensor::ones({n / 32, 32}), b = Tensor::ones({n / 32, 32}), out = Tensor::empty({n / 32, 32});
  auto add_t = time_ms([&] { keel::kernels::binary_into(keel::kernels::BinaryOp::add, a, b, out); }, 51);
  double add_gbs = 3.0 * n * 4 / (add_t.median_ms * 1e-3) / 1e9;
  print("add (2 reads + 1 write)", add_t, fmt::format("{:.1f} GB/s = {:.0f}% of copy", add_gbs, 100 * add_gbs / copy));
  Tensor bias = Tensor::ones({32});
  auto bias_t = time_ms([&] { keel::kernels::binary_into(keel::kernels::BinaryOp::add, a, bias, out); }, 51);
  double bias_gbs = 2.0 * n * 4 / (bias_t.median_ms * 1e-3) / 1e9;
  print("add per-channel bias (1 read + 1 write)", bias_t,
        fmt::format("{:.1f} GB/s = {:.0f}% of copy", bias_gbs, 100 * bias_gbs / copy));
  auto red_t = time_ms([&] { keel::kernels::reduce(keel::kernels::ReduceOp::sum, a, {0}, false); }, 51);
  double red_gbs = 1.0 * n * 4 / (red_t.median_ms * 1e-3) / 1e9;
  print("per-channel sum over [N*H*W, 32] (1 read)", red_t,
        fmt::format("{:.1f} GB/s = {:.0f}% of copy's read+write rate", red_gbs, 100 * red_gbs / copy));
});

// Where the cache ends for this process: copy bandwidth against the bytes a copy touches (source and
// destination). Memory-bound kernels on arrays past that point are paced by DRAM, whatever they do.
keel::bench::Register cache_curve("memory", "copy bandwidth by working-set size", [] {
  std::cout << "Copy bandwidth (read + write bytes per second) by working set (source + destination)\n";
  for (std::int64_t mb : {2, 4, 8, 12, 16, 24, 32, 48, 64, 128}) {
    const std::int64_t n = mb * 1024 * 1024 / 8;
    std::cout << fmt::format("  {:>4} MB  {:6.1f} GB/s\n", mb, copy_bandwidth_gbs(n));
  }
});

keel::bench::Register conv("conv2d", "reference convnet conv2d forward/backward", [] {
  std::cout << "Conv2D on the reference convnet (batch 64, NHWC, float32)\n";
  struct S { std::int64_t h, w, c, f; const char* what; };
  for (S s : {S{28, 28, 1, 32, "conv1 28x28x1 -> 32, 3x3 valid"}, S{13, 13, 32, 64, "conv2 13x13x32 -> 64, 3x3 valid"}}) {
    auto g = keel::kernels::conv2d_geometry(keel::kernels::Layout::NHWC, 64, s.h, s.w, s.c, s.f, 3, 3, 1, 1, 1, 1, false);
    Tensor x = keel::random::normal({64, s.h, s.w, s.c}, 0, 1, 1), k = keel::random::normal({3, 3, s.c, s.f}, 0, 1, 2);
    Tensor bias = Tensor::zeros({s.f}), y = Tensor::empty({64, g.out_h, g.out_w, s.f});
    Tensor gx = Tensor::empty(x.shape()), gk = Tensor::empty(k.shape()), gb = Tensor::empty({s.f});
    double flop = 2.0 * 64 * g.out_h * g.out_w * s.f * 9 * s.c;
    auto f = time_ms([&] { keel::kernels::conv2d_forward<float>(g, x.data<float>(), k.data<float>(), bias.data<float>(), y.data<float>()); });
    auto bi = time_ms([&] { keel::kernels::conv2d_backward_input<float>(g, y.data<float>(), k.data<float>(), gx.data<float>()); });
    auto bk = time_ms([&] {
      keel::kernels::conv2d_backward_kernel<float>(g, x.data<float>(), y.data<float>(), gk.data<float>(), gb.data<float>());
    });
    print(fmt::format("{} forward", s.what), f, fmt::format("{:.1f} GFLOP/s", flop / f.median_ms / 1e6));
    print(fmt::format("{} backward input", s.what), bi, fmt::format("{:.1f} GFLOP/s", flop / bi.median_ms / 1e6));
    print(fmt::format("{} backward kernel", s.what), bk, fmt::format("{:.1f} GFLOP/s", flop / bk.median_ms / 1e6));
  }
});

}  // namespace
