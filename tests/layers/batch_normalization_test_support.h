#pragma once
// Shared helpers of the BatchNormalization tests: element-wise comparison against hand-computed values.
#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <vector>

#include "keel/core/tensor.h"

namespace keel::test {

inline void require_close(const std::vector<double>& got, const std::vector<double>& want, double tol,
                          const std::string& what = "") {
  INFO(what);
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    INFO("element " << i << ": got " << got[i] << ", want " << want[i]);
    REQUIRE(std::abs(got[i] - want[i]) <= tol * (1.0 + std::abs(want[i])));
  }
}

inline void require_close(const Tensor& got, const std::vector<double>& want, double tol, const std::string& what = "") {
  require_close(got.to_vector(), want, tol, what);
}

// (x − mean) / sqrt(var + eps) · gamma + beta for a rank-2 [N, C] row-major vector.
inline std::vector<double> normalized_rows(const std::vector<double>& x, std::size_t channels,
                                           const std::vector<double>& mean, const std::vector<double>& var, double eps,
                                           double gamma = 1, double beta = 0) {
  std::vector<double> y(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    const std::size_t c = i % channels;
    y[i] = (x[i] - mean[c]) / std::sqrt(var[c] + eps) * gamma + beta;
  }
  return y;
}

}  // namespace keel::test
