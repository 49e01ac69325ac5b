#pragma once
// What keel's benchmark and its LibTorch twins share, so both sides start from the same numbers and
// measure the same way: a counter-based generator for initial weights and synthetic data, the loss
// check, the in-process timing loop and the one-line result format the comparison script parses.
// Plain C++20, no dependency on either framework.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <vector>

namespace twin {

// splitmix64 of (stream, index) mapped to [0, 1): a value that depends only on its coordinates, so
// each side can fill its own memory layout from logical (PyTorch-order) indices.
inline double uniform01(std::uint64_t stream, std::uint64_t index) {
  std::uint64_t z = stream * 0x9E3779B97F4A7C15ull + index + 0x632BE59BD9B4E54Full;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * 0x1.0p-53;
}

// Glorot-uniform (Keras's default kernel initializer) for the kernel element at `logical_index`, the
// row-major index in PyTorch's layout: [out, in] for Dense, [out, in, kh, kw] for Conv2D.
inline float glorot_uniform(std::uint64_t stream, std::uint64_t logical_index, double fan_in, double fan_out) {
  const double limit = std::sqrt(6.0 / (fan_in + fan_out));
  return static_cast<float>((2 * uniform01(stream, logical_index) - 1) * limit);
}

// Weight streams: one per kernel. Biases start at zero and BatchNormalization at gamma 1, beta 0,
// moving mean 0, moving variance 1 on both sides.
enum Stream : std::uint64_t { conv1 = 1, conv2 = 2, convnet_dense1 = 3, convnet_dense2 = 4,
                              mlp_dense1 = 11, mlp_dense2 = 12, mlp_dense3 = 13, images = 1000, labels = 1001 };

// Synthetic standardized images (uniform in [-1.7, 1.7), about unit variance) and labels 0..9.
inline float pixel(std::int64_t image, std::int64_t pixel_index) {
  return static_cast<float>((2 * uniform01(images, static_cast<std::uint64_t>(image * 784 + pixel_index)) - 1) * 1.7);
}
inline std::int64_t label(std::int64_t image) {
  return static_cast<std::int64_t>(uniform01(labels, static_cast<std::uint64_t>(image)) * 10);
}

// Mean sparse categorical cross-entropy of row-major [n, classes] logits, in double: both sides print it
// for the untrained model in inference mode, so equal initial weights show as equal losses.
inline double cross_entropy(const float* logits, std::int64_t n, std::int64_t classes) {
  double total = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    const float* row = logits + i * classes;
    double peak = *std::max_element(row, row + classes), sum = 0;
    for (std::int64_t c = 0; c < classes; ++c) sum += std::exp(row[c] - peak);
    total += peak + std::log(sum) - row[label(i)];
  }
  return total / static_cast<double>(n);
}

// Median milliseconds of `runs` calls after `warmup` unmeasured calls.
template <class F>
double median_ms(F&& fn, int warmup, int runs) {
  for (int i = 0; i < warmup; ++i) fn();
  std::vector<double> t;
  for (int i = 0; i < runs; ++i) {
    auto start = std::chrono::steady_clock::now();
    fn();
    t.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

// The line the comparison script parses: RESULT <side> <case> <threads> <value> <unit>.
inline void print_result(const char* side, const char* case_name, int threads, double value, const char* unit) {
  std::printf("RESULT %s %s %d %.6g %s\n", side, case_name, threads, value, unit);
  std::fflush(stdout);
}

// The in-process repetitions of each kind of case (the same on both sides).
struct Reps {
  int warmup, runs;
};
inline constexpr Reps train_reps{5, 20}, predict_reps{1, 5}, layer_reps{3, 20};

}  // namespace twin
