// BatchNormalization kernels on the shapes: ms and effective GB/s (2 x elements x 4 bytes
// for a forward, 5 x elements x 4 for forward+backward), next to the copy bandwidth and to the memory
// floor of forward+backward: the same four passes over x, y, dy and dx (read x; read x, write y; read dy
// and x; read dy and x, write dx) with one add or FMA per value, which no kernel making those passes beats.
#include <fmt/format.h>

#include <cstring>
#include <fstream>
#include <string>
#include <iostream>
#include <keel/core/kernels/batch_norm.h>
#include <keel/core/kernels/simd.h>
#include <keel/keel.h>

#include "bench_util.h"

namespace {

using keel::Tensor;
using keel::bench::time_ms;

constexpr int kRuns = 101;
constexpr std::int64_t kChunk = 32768;

// The floor's passes: fn(b, e) over 32K-value chunks in parallel.
template <class Fn>
void chunked(std::int64_t n, Fn&& fn) {
  keel::parallel::for_each_chunk(0, n, kChunk, [&](std::int64_t, std::int64_t b, std::int64_t e) { fn(b, e); });
}

// Σ a[i]·w[i] over [b, e) (w == nullptr: Σ a[i]) in four independent vector sums, so that memory, not the
// adder's latency, sets the pace; e - b is a multiple of 64 values.
float streamed_sum(const float* a, const float* w, std::int64_t b, std::int64_t e) {
  using V = keel::kernels::Simd<float>::V;
  constexpr std::int64_t L = keel::kernels::Simd<float>::lanes;
  V acc[4] = {};
  for (std::int64_t i = b; i < e; i += 4 * L)
    for (int k = 0; k < 4; ++k) {
      V v = keel::kernels::load_as<V>(a + i + k * L);
      acc[k] += w ? v * keel::kernels::load_as<V>(w + i + k * L) : v;
    }
  V t = (acc[0] + acc[1]) + (acc[2] + acc[3]);
  return t[0];
}

void memory_floor(std::int64_t n, const float* x, float* y, const float* dy, float* dx) {
  using V = keel::kernels::Simd<float>::V;
  constexpr std::int64_t L = keel::kernels::Simd<float>::lanes;
  std::vector<float> partial(static_cast<std::size_t>(keel::parallel::num_chunks(0, n, kChunk)));
  chunked(n, [&](std::int64_t b, std::int64_t e) { partial[b / kChunk] = streamed_sum(x, nullptr, b, e); });
  const float s = partial[0];  // the sums only make each pass depend on the one before
  chunked(n, [&](std::int64_t b, std::int64_t e) {
    for (std::int64_t i = b; i < e; i += L) keel::kernels::store_as(y + i, keel::kernels::load_as<V>(x + i) + s);
  });
  chunked(n, [&](std::int64_t b, std::int64_t e) { partial[b / kChunk] = streamed_sum(dy, x, b, e); });
  const float t = partial[0];
  chunked(n, [&](std::int64_t b, std::int64_t e) {
    for (std::int64_t i = b; i < e; i += L)
      keel::kernels::store_as(dx + i, keel::kernels::load_as<V>(dy + i) * t + keel::kernels::load_as<V>(x + i));
  });
}

keel::bench::Register bn("batch_norm", "BatchNormalization kernels", [] {
  struct S { std::int64_t n, h, w, c; bool nhwc; };
  std::string load = "unknown";
  if (std::ifstream f("/proc/loadavg"); f) std::getline(f, load);
  std::cout << "BatchNormalization kernels (float32), median/min of " << kRuns << " runs; load average at start: " << load
            << "\n";
  for (S s : {S{64, 28, 28, 32, true}, S{64, 28, 28, 32, false}, S{256, 14, 14, 64, true}, S{256, 14, 14, 64, false}}) {
    const std::int64_t elems = s.n * s.h * s.w * s.c;
    keel::kernels::ChannelLayout l = s.nhwc ? keel::kernels::ChannelLayout{s.n * s.h * s.w, s.c, 1}
                                            : keel::kernels::ChannelLayout{s.n, s.c, s.h * s.w};
    Tensor x = keel::random::normal({elems}, 1, 2, 1), y = Tensor::empty({elems}), dy = keel::random::normal({elems}, 0, 1, 2);
    Tensor dx = Tensor::empty({elems}), gamma = Tensor::ones({s.c}), beta = Tensor::zeros({s.c});
    Tensor dgamma = Tensor::empty({s.c}), dbeta = Tensor::empty({s.c}), mm = Tensor::zeros({s.c}), mv = Tensor::ones({s.c});
    std::vector<double> mean(s.c), var(s.c), invstd(s.c);
    auto copy = time_ms([&] {
      keel::parallel::for_each_chunk(0, elems, 32768, [&](std::int64_t, std::int64_t b, std::int64_t e) {
        std::memcpy(y.data<float>() + b, x.data<float>() + b, (e - b) * sizeof(float));
      });
    }, kRuns);
    auto fwd = time_ms([&] {
      keel::kernels::batch_norm_forward_training<float>(l, x.data<float>(), gamma.data<float>(), beta.data<float>(), 1e-3,
                                                        y.data<float>(), mean.data(), var.data(), invstd.data());
    }, kRuns);
    auto fwd_bwd = time_ms([&] {
      keel::kernels::batch_norm_forward_training<float>(l, x.data<float>(), gamma.data<float>(), beta.data<float>(), 1e-3,
                                                        y.data<float>(), mean.data(), var.data(), invstd.data());
      keel::kernels::batch_norm_backward<float>(l, dy.data<float>(), x.data<float>(), mean.data(), invstd.data(),
                                                gamma.data<float>(), nullptr, nullptr, dx.data<float>(),
                                                dgamma.data<float>(), dbeta.data<float>());
    }, kRuns);
    auto floor = time_ms([&] { memory_floor(elems, x.data<float>(), y.data<float>(), dy.data<float>(), dx.data<float>()); },
                         kRuns);
    auto infer = time_ms([&] {
      keel::kernels::batch_norm_inference<float>(l, x.data<float>(), gamma.data<float>(), beta.data<float>(),
                                                 mm.data<float>(), mv.data<float>(), 1e-3, y.data<float>());
    }, kRuns);
    auto gbs = [&](double bytes_per_elem, double ms) { return bytes_per_elem * elems / (ms * 1e-3) / 1e9; };
    std::string shape = s.nhwc ? fmt::format("[{}, {}, {}, {}] NHWC", s.n, s.h, s.w, s.c)
                               : fmt::format("[{}, {}, {}, {}] NCHW", s.n, s.c, s.h, s.w);
    // Median, with the minimum after the slash: on a shared machine the minimum is the undisturbed run.
    auto cell = [&](const char* what, const keel::bench::Timing& t, double bytes_per_elem) {
      return fmt::format("{} {:6.3f}/{:6.3f} ms ({:5.1f}/{:5.1f} GB/s)", what, t.median_ms, t.min_ms,
                         gbs(bytes_per_elem, t.median_ms), gbs(bytes_per_elem, t.min_ms));
    };
    std::cout << fmt::format("  {:<24} {} | {} | {} | {} | {} | inference/copy {:.0f}%/{:.0f}%\n", shape,
                             cell("copy", copy, 8), cell("train fwd", fwd, 8), cell("fwd+bwd", fwd_bwd, 20),
                             cell("fwd+bwd memory floor", floor, 20), cell("inference", infer, 8),
                             100 * copy.median_ms / infer.median_ms, 100 * copy.min_ms / infer.min_ms);
  }
});

}  // namespace
