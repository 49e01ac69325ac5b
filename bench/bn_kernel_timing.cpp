// Timing of the BatchNormalization kernels against memcpy of the same tensor (not a test, not part of
// keel_bench). Build by hand against the release library:
//   g++ -O3 -march=native -std=c++20 -Ibuild/release/include bench/bn_kernel_timing.cpp \
//       -Lbuild/release -lkeel -Wl,-rpath,$PWD/build/release -o /tmp/bn_kernel_timing
// Prints medians of 30 runs (after warm-up) in ms and effective GB/s: forward and inference move 2·E
// elements, forward+backward 5·E.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "keel/core/kernels/batch_norm.h"
#include "keel/core/parallel.h"

namespace {

using keel::kernels::ChannelLayout;

template <class F>
double median_ms(F&& f, int runs = 30) {
  for (int i = 0; i < 5; ++i) f();
  std::vector<double> t;
  for (int i = 0; i < runs; ++i) {
    auto a = std::chrono::steady_clock::now();
    f();
    auto b = std::chrono::steady_clock::now();
    t.push_back(std::chrono::duration<double, std::milli>(b - a).count());
  }
  std::nth_element(t.begin(), t.begin() + runs / 2, t.end());
  return t[runs / 2];
}

void run(const char* name, ChannelLayout l) {
  const std::size_t e = static_cast<std::size_t>(l.outer * l.channels * l.inner), c = l.channels;
  std::vector<float> x(e), dy(e), y(e), dx(e), gamma(c, 1.2f), beta(c, 0.1f), gg(c), gb(c), mm(c, 0.1f), mv(c, 2.f);
  std::vector<double> mean(c), var(c), invstd(c);
  std::mt19937 rng(1);
  std::normal_distribution<float> nd(0.5f, 2.f);
  for (auto& v : x) v = nd(rng);
  for (auto& v : dy) v = nd(rng);
  const double gb_per = static_cast<double>(e) * sizeof(float) / 1e6;  // MB → GB/s when divided by ms
  for (int threads : {1, 2}) {
    keel::set_num_threads(threads);
    // memcpy cut into the same 128 KiB chunks the kernels use, so it runs on as many threads.
    const std::int64_t grain = 32 * 1024;
    double cp = median_ms([&] {
      keel::parallel::for_each_chunk(0, static_cast<std::int64_t>(e), grain, [&](std::int64_t, std::int64_t b,
                                                                                  std::int64_t f) {
        std::memcpy(y.data() + b, x.data() + b, static_cast<std::size_t>(f - b) * sizeof(float));
      });
    });
    double fwd = median_ms([&] {
      keel::kernels::batch_norm_forward_training(l, x.data(), gamma.data(), beta.data(), 1e-3, y.data(), mean.data(),
                                                 var.data(), invstd.data());
    });
    double fb = median_ms([&] {
      keel::kernels::batch_norm_forward_training(l, x.data(), gamma.data(), beta.data(), 1e-3, y.data(), mean.data(),
                                                 var.data(), invstd.data());
      keel::kernels::batch_norm_backward(l, dy.data(), x.data(), mean.data(), invstd.data(), gamma.data(), nullptr,
                                         nullptr, dx.data(), gg.data(), gb.data());
    });
    double inf = median_ms([&] {
      keel::kernels::batch_norm_inference(l, x.data(), gamma.data(), beta.data(), mm.data(), mv.data(), 1e-3,
                                          y.data());
    });
    std::printf("%-22s %dT  memcpy %.3f ms %6.1f GB/s | fwd %.3f ms %6.1f GB/s | fwd+bwd %.3f ms %6.1f GB/s | "
                "infer %.3f ms %6.1f GB/s (%3.0f%% of memcpy)\n",
                name, threads, cp, 2 * gb_per / cp, fwd, 2 * gb_per / fwd, fb, 5 * gb_per / fb, inf, 2 * gb_per / inf,
                100 * cp / inf);
  }
}

}  // namespace

int main() {
  run("[64,28,28,32] NHWC", {64 * 28 * 28, 32, 1});
  run("[64,32,28,28] NCHW", {64, 32, 28 * 28});
  run("[256,14,14,64] NHWC", {256 * 14 * 14, 64, 1});
  run("[256,64,14,14] NCHW", {256, 64, 14 * 14});
  keel::set_num_threads(0);
}
