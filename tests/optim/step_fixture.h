#pragma once
// Shared by the optim tests: a fixed three-step problem and a runner that records the weights
// after each step, so every optimizer is checked against its hand-written reference formulas.
#include <catch2/catch.hpp>

#include <vector>

#include "keel/autograd/variable.h"
#include "keel/optim/optimizer.h"

namespace keel::optim::testing {

using Vec = std::vector<double>;

inline const Vec kInitialWeights = {0.5, -1.5, 2.0};
inline const std::vector<Vec> kGradients = {{0.1, -0.2, 0.3}, {-0.4, 0.5, 0.05}, {0.2, 0.2, -0.6}};

// Runs one apply_gradients per entry of `gradients` on a fresh variable; the weights after each step.
inline std::vector<Vec> run_steps(Optimizer& optimizer, DType dtype = DType::float64, const Vec& initial = kInitialWeights,
                                  const std::vector<Vec>& gradients = kGradients) {
  Shape shape{static_cast<std::int64_t>(initial.size())};
  Variable w("w", Tensor::from_vector(initial, shape, dtype), true);
  std::vector<Vec> out;
  for (const Vec& g : gradients) {
    optimizer.apply_gradients({Tensor::from_vector(g, shape, dtype)}, {w});
    out.push_back(w.value().to_vector());
  }
  return out;
}

// Every element of every step within `tolerance` (absolute + relative to the expected magnitude).
inline void check_steps(const std::vector<Vec>& actual, const std::vector<Vec>& expected, double tolerance) {
  REQUIRE(actual.size() == expected.size());
  for (std::size_t s = 0; s < expected.size(); ++s) {
    REQUIRE(actual[s].size() == expected[s].size());
    for (std::size_t i = 0; i < expected[s].size(); ++i) {
      INFO("step " << s + 1 << " element " << i);
      CHECK(actual[s][i] == Approx(expected[s][i]).margin(tolerance).epsilon(tolerance));
    }
  }
}

}  // namespace keel::optim::testing
