#pragma once
// Shared pieces of the kernel tests: reproducible inputs and element-wise comparison with a double reference.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace keel_test {

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

inline double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

}  // namespace keel_test
