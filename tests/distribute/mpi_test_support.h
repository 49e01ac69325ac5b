#pragma once
// Shared pieces of the MPI tests: the process-wide strategy, deterministic data, and comparisons of a
// distributed run with one process on the same global batches.
#include <catch2/catch.hpp>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "keel/keel.h"
#include "support/floatx.h"

namespace keel::test {

inline distribute::MpiStrategy& mpi() {
  static distribute::MpiStrategy strategy;
  return strategy;
}

// Smooth, sample-dependent values (no RNG) and labels in [0, classes).
inline Tensor wave(const Shape& shape, double offset, DType dtype) {
  std::vector<double> v(static_cast<std::size_t>(checked_numel(shape)));
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = offset + std::sin(0.7 * static_cast<double>(i) + 0.3) * (1 + i % 4);
  return Tensor::from_vector(v, shape, dtype);
}

inline Tensor labels(std::int64_t n, std::int64_t classes) {
  std::vector<double> v(static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>((i * 7 + i / 3) % static_cast<std::size_t>(classes));
  return Tensor::from_vector(v, {n}, DType::int64);
}

// ‖got − want‖ / max(‖want‖, 1) over one tensor.
inline double relative_error(const Tensor& got, const Tensor& want) {
  std::vector<double> g = got.to_vector(), w = want.to_vector();
  REQUIRE(g.size() == w.size());
  double diff = 0, norm = 0;
  for (std::size_t i = 0; i < g.size(); ++i) {
    diff += (g[i] - w[i]) * (g[i] - w[i]);
    norm += w[i] * w[i];
  }
  return std::sqrt(diff) / std::max(std::sqrt(norm), 1.0);
}

inline void require_same_weights(const Model& got, const Model& want, double tolerance) {
  std::vector<Tensor> g = got.get_weights(), w = want.get_weights();
  REQUIRE(g.size() == w.size());
  for (std::size_t i = 0; i < g.size(); ++i) {
    INFO("weight " << i << " '" << want.weights()[i].name() << "' on rank " << mpi().rank());
    CHECK(relative_error(g[i], w[i]) <= tolerance);
  }
}

// Whether every rank holds bitwise the same weights (a CRC-like fold of the bytes, gathered).
inline bool weights_identical_across_ranks(const Model& model) {
  double fold = 0;
  std::uint64_t h = 1469598103934665603ull;
  for (const Tensor& t : model.get_weights()) {
    const Tensor c = t.contiguous();
    const auto* p = static_cast<const unsigned char*>(c.raw_data());
    for (std::int64_t i = 0; i < c.numel() * static_cast<std::int64_t>(dtype_size(c.dtype())); ++i)
      h = (h ^ p[i]) * 1099511628211ull;
  }
  fold = static_cast<double>(h >> 12);  // 52 bits survive the trip through double exactly
  std::vector<double> all = mpi().all_gather(std::span<const double>(&fold, 1));
  for (double v : all)
    if (v != all[0]) return false;
  return true;
}

}  // namespace keel::test
