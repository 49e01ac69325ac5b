#include <catch2/catch.hpp>

#include <cmath>

#include "keel/core/error.h"
#include "keel/optim/adam.h"
#include "keel/optim/adamw.h"
#include "optim/step_fixture.h"

using Catch::Matchers::Contains;
using namespace keel::optim::testing;
namespace optim = keel::optim;

namespace {

// docs/semantics.md §6 with decoupled weight decay first: w ← w − lr·wd·w; t = step;
// α = lr·sqrt(1 − β2ᵗ)/(1 − β1ᵗ); m ← β1m + (1 − β1)g; v ← β2v + (1 − β2)g²; w ← w − α·m/(sqrt(v̂ or v) + ε).
std::vector<Vec> adam_reference(double lr, double b1, double b2, double eps, bool amsgrad, double wd = 0.0) {
  Vec w = kInitialWeights, m(w.size(), 0.0), v(w.size(), 0.0), vmax(w.size(), 0.0);
  std::vector<Vec> out;
  for (std::size_t step = 0; step < kGradients.size(); ++step) {
    const Vec& g = kGradients[step];
    double t = static_cast<double>(step + 1);
    double alpha = lr * std::sqrt(1.0 - std::pow(b2, t)) / (1.0 - std::pow(b1, t));
    for (std::size_t i = 0; i < w.size(); ++i) {
      w[i] -= lr * wd * w[i];
      m[i] = b1 * m[i] + (1.0 - b1) * g[i];
      v[i] = b2 * v[i] + (1.0 - b2) * g[i] * g[i];
      vmax[i] = std::max(vmax[i], v[i]);
      w[i] -= alpha * m[i] / (std::sqrt(amsgrad ? vmax[i] : v[i]) + eps);
    }
    out.push_back(w);
  }
  return out;
}

}  // namespace

TEST_CASE("Adam: the first three steps match the Keras formulas", "[optim]") {
  optim::Adam adam({.learning_rate = 0.01});
  check_steps(run_steps(adam), adam_reference(0.01, 0.9, 0.999, 1e-7, false), 1e-12);
  optim::Adam tuned({.learning_rate = 0.05, .beta_1 = 0.5, .beta_2 = 0.9, .epsilon = 1e-3});
  check_steps(run_steps(tuned), adam_reference(0.05, 0.5, 0.9, 1e-3, false), 1e-12);
}

TEST_CASE("Adam: step 1 is bias-corrected - about lr in the direction of -g, with epsilon on the raw sqrt(v)", "[optim]") {
  // α·m/(sqrt(v)+ε) at t = 1 is lr·g/(|g| + ε/sqrt(1 − β2)).
  optim::Adam adam({.learning_rate = 0.01, .epsilon = 1e-3});
  auto steps = run_steps(adam);
  for (std::size_t i = 0; i < 3; ++i) {
    double g = kGradients[0][i];
    double expected = kInitialWeights[i] - 0.01 * g / (std::abs(g) + 1e-3 / std::sqrt(0.001));
    CHECK(steps[0][i] == Approx(expected).margin(1e-12));
  }
  CHECK(steps[0][0] == Approx(0.5 - 0.01 * 0.1 / (0.1 + 0.0316227766016838)).margin(1e-12));
}

TEST_CASE("Adam: amsgrad uses the running maximum of v", "[optim]") {
  optim::Adam adam({.learning_rate = 0.01, .beta_2 = 0.5, .amsgrad = true});
  auto steps = run_steps(adam);
  check_steps(steps, adam_reference(0.01, 0.9, 0.5, 1e-7, true), 1e-12);
  // With β2 = 0.5 the maximum matters: element 2's v drops at step 2 (0.3² then 0.05²).
  auto plain = adam_reference(0.01, 0.9, 0.5, 1e-7, false);
  CHECK(std::abs(steps[1][2] - plain[1][2]) > 1e-6);
}

TEST_CASE("AdamW: Adam with decoupled weight decay 0.004 by default", "[optim]") {
  optim::AdamW adamw({.learning_rate = 0.01});
  REQUIRE(adamw.options().weight_decay == 0.004);
  check_steps(run_steps(adamw), adam_reference(0.01, 0.9, 0.999, 1e-7, false, 0.004), 1e-12);
  optim::AdamW strong({.learning_rate = 0.01, .weight_decay = 0.5, .amsgrad = true});
  check_steps(run_steps(strong), adam_reference(0.01, 0.9, 0.999, 1e-7, true, 0.5), 1e-12);
  // Adam with weight_decay set is the same decoupled decay.
  optim::Adam adam({.learning_rate = 0.01, .weight_decay = 0.5});
  check_steps(run_steps(adam), adam_reference(0.01, 0.9, 0.999, 1e-7, false, 0.5), 1e-12);
}

TEST_CASE("Adam: a float32 variable follows the same updates", "[optim]") {
  optim::AdamW adamw({.learning_rate = 0.01, .weight_decay = 0.1});
  check_steps(run_steps(adamw, keel::DType::float32), adam_reference(0.01, 0.9, 0.999, 1e-7, false, 0.1), 1e-6);
  optim::Adam amsgrad({.learning_rate = 0.01, .beta_2 = 0.5, .amsgrad = true});
  check_steps(run_steps(amsgrad, keel::DType::float32), adam_reference(0.01, 0.9, 0.5, 1e-7, true), 1e-6);
}

TEST_CASE("Adam: bad hyper-parameters are a ValueError naming the argument", "[optim]") {
  REQUIRE_THROWS_AS(optim::Adam({.beta_1 = 1.0}), keel::ValueError);
  REQUIRE_THROWS_WITH(optim::Adam({.beta_1 = 1.0}), Contains("Adam") && Contains("beta_1") && Contains("1"));
  REQUIRE_THROWS_WITH(optim::Adam({.beta_2 = -0.1}), Contains("beta_2") && Contains("-0.1"));
  REQUIRE_THROWS_WITH(optim::Adam({.epsilon = 0.0}), Contains("epsilon") && Contains("0"));
  REQUIRE_THROWS_WITH(optim::Adam({.learning_rate = -1.0}), Contains("learning_rate") && Contains("-1"));
  REQUIRE_THROWS_WITH(optim::AdamW({.weight_decay = -0.01}), Contains("AdamW") && Contains("weight_decay") &&
                                                                 Contains("-0.01"));
}
