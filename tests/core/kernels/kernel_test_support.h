#pragma once
// Shared pieces of the kernel tests: reproducible inputs and element-wise comparison with a double reference.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <random>
#include <string>
#include <cstring>
#include <vector>

#include "keel/core/kernels/layout.h"
#include "keel/core/parallel.h"

namespace keel_test {

// Flat index of element (n, h, w, c) of a [N, H, W, C] batch stored in `layout`.
inline std::int64_t flat_index(keel::kernels::Layout layout, std::int64_t n, std::int64_t h, std::int64_t w,
                               std::int64_t c, std::int64_t height, std::int64_t width, std::int64_t channels) {
  return layout == keel::kernels::Layout::NHWC ? ((n * height + h) * width + w) * channels + c
                                               : ((n * channels + c) * height + h) * width + w;
}

// One spatial dimension's output size and leading padding, from the Keras/TF definition.
struct Dim {
  std::int64_t out, pad;
};
inline Dim expected_dim(std::int64_t in, std::int64_t k, std::int64_t s, std::int64_t d, bool same) {
  const std::int64_t eff = (k - 1) * d + 1;
  if (!same) return {(in - eff) / s + 1, 0};
  const std::int64_t out = (in + s - 1) / s;
  return {out, std::max<std::int64_t>((out - 1) * s + eff - in, 0) / 2};
}

// Uniform values in [-1, 1), rounded to T, so a double reference sees exactly what the kernel sees.
template <class T>
std::vector<T> random_values(std::size_t count, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> dist(-1.0, 1.0);
  std::vector<T> v(count);
  for (auto& e : v) e = static_cast<T>(dist(rng));
  return v;
}

template <class T>
std::vector<double> to_double(const std::vector<T>& v) {
  return std::vector<double>(v.begin(), v.end());
}

// n values of T at a 64-byte boundary, as tensor storage is, so that kernels take their aligned paths
// (streaming stores of large outputs); every value starts as `fill`.
template <class T>
class AlignedValues {
 public:
  AlignedValues(std::size_t n, T fill) : storage_(n + 64 / sizeof(T), fill), n_(n) {
    while (reinterpret_cast<std::uintptr_t>(storage_.data() + offset_) % 64 != 0) ++offset_;
  }
  T* data() { return storage_.data() + offset_; }
  std::vector<T> values() const { return {storage_.begin() + offset_, storage_.begin() + offset_ + n_}; }

 private:
  std::vector<T> storage_;
  std::size_t n_, offset_ = 0;
};

template <class T>
double tolerance() {
  return sizeof(T) == sizeof(float) ? 1e-4 : 1e-12;
}

// |got - want| <= rtol * max(1, |want|) everywhere (NaN matches NaN); reports the first mismatch.
template <class T>
void require_close(const std::vector<T>& got, const std::vector<double>& want, double rtol) {
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double g = static_cast<double>(got[i]), w = want[i];
    const bool ok = std::isnan(w) ? std::isnan(g) : std::abs(g - w) <= rtol * std::max(1.0, std::abs(w));
    if (!ok) {
      INFO("index " << i << ": got " << g << ", want " << w);
      REQUIRE(ok);
    }
  }
}

// The message of the E that fn() throws; fails the test when it throws nothing (another type propagates).
template <class E, class Fn>
std::string message_of(Fn&& fn) {
  try {
    fn();
  } catch (const E& e) {
    return e.what();
  }
  FAIL("no exception thrown");
  return {};
}

// run() returns everything a kernel computed; it must come out bitwise the same on 1 and 2 threads.
template <class Fn>
void require_same_on_1_and_2_threads(Fn&& run) {
  keel::set_num_threads(1);
  const auto one = run();
  keel::set_num_threads(2);
  const auto two = run();
  keel::set_num_threads(0);
  REQUIRE(one.size() == two.size());
  CHECK(std::memcmp(one.data(), two.data(), one.size() * sizeof(one[0])) == 0);
}

// The vectors one after another (what a kernel computed, for require_same_on_1_and_2_threads).
template <class T>
std::vector<T> joined(std::initializer_list<const std::vector<T>*> parts) {
  std::vector<T> all;
  for (const std::vector<T>* p : parts) all.insert(all.end(), p->begin(), p->end());
  return all;
}

inline double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

}  // namespace keel_test
