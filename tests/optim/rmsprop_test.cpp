#include <catch2/catch.hpp>

#include <cmath>

#include "keel/core/error.h"
#include "keel/optim/rmsprop.h"
#include "optim/step_fixture.h"

using Catch::Matchers::Contains;
using namespace keel::optim::testing;
namespace optim = keel::optim;

namespace {

// docs/semantics.md §6: v ← ρv + (1 − ρ)g²; centered: a ← ρa + (1 − ρ)g, denom = v − a² + ε, else v + ε;
// step = lr·g/sqrt(denom); momentum: s ← μs + step, w ← w − s; else w ← w − step.
std::vector<Vec> rmsprop_reference(double lr, double rho, double mu, double eps, bool centered) {
  Vec w = kInitialWeights, v(w.size(), 0.0), a(w.size(), 0.0), s(w.size(), 0.0);
  std::vector<Vec> out;
  for (const Vec& g : kGradients) {
    for (std::size_t i = 0; i < w.size(); ++i) {
      v[i] = rho * v[i] + (1.0 - rho) * g[i] * g[i];
      double denom = v[i] + eps;
      if (centered) {
        a[i] = rho * a[i] + (1.0 - rho) * g[i];
        denom = v[i] - a[i] * a[i] + eps;
      }
      double step = lr * g[i] / std::sqrt(denom);
      if (mu > 0.0) {
        s[i] = mu * s[i] + step;
        step = s[i];
      }
      w[i] -= step;
    }
    out.push_back(w);
  }
  return out;
}

}  // namespace

TEST_CASE("RMSprop: plain, centered, momentum and both - the first three steps", "[optim]") {
  optim::RMSprop plain({.learning_rate = 0.01});
  check_steps(run_steps(plain), rmsprop_reference(0.01, 0.9, 0.0, 1e-7, false), 1e-12);
  optim::RMSprop centered({.learning_rate = 0.01, .centered = true});
  check_steps(run_steps(centered), rmsprop_reference(0.01, 0.9, 0.0, 1e-7, true), 1e-12);
  optim::RMSprop momentum({.learning_rate = 0.01, .rho = 0.8, .momentum = 0.7});
  check_steps(run_steps(momentum), rmsprop_reference(0.01, 0.8, 0.7, 1e-7, false), 1e-12);
  optim::RMSprop both({.learning_rate = 0.01, .momentum = 0.5, .epsilon = 1e-4, .centered = true});
  check_steps(run_steps(both), rmsprop_reference(0.01, 0.9, 0.5, 1e-4, true), 1e-12);
}

TEST_CASE("RMSprop: the Keras docstring example (lr 0.1, var 10, loss var^2/2) gives 9.683772", "[optim]") {
  optim::RMSprop rmsprop({.learning_rate = 0.1});
  auto steps = run_steps(rmsprop, keel::DType::float64, {10.0}, {{10.0}});
  // By hand: v = 0.1·100 = 10; w = 10 − 0.1·10/sqrt(10 + 1e-7).
  CHECK(steps[0][0] == Approx(10.0 - 1.0 / std::sqrt(10.0 + 1e-7)).margin(1e-12));
  CHECK(steps[0][0] == Approx(9.683772).margin(1e-6));
}

TEST_CASE("RMSprop: a float32 variable follows the same updates", "[optim]") {
  optim::RMSprop both({.learning_rate = 0.01, .momentum = 0.5, .epsilon = 1e-4, .centered = true});
  check_steps(run_steps(both, keel::DType::float32), rmsprop_reference(0.01, 0.9, 0.5, 1e-4, true), 1e-6);
}

TEST_CASE("RMSprop: bad hyper-parameters are a ValueError naming the argument", "[optim]") {
  REQUIRE_THROWS_AS(optim::RMSprop({.rho = 1.0}), keel::ValueError);
  REQUIRE_THROWS_WITH(optim::RMSprop({.rho = 1.0}), Contains("RMSprop") && Contains("rho") && Contains("1"));
  REQUIRE_THROWS_WITH(optim::RMSprop({.momentum = -0.5}), Contains("momentum") && Contains("-0.5"));
  REQUIRE_THROWS_WITH(optim::RMSprop({.epsilon = -1e-7}), Contains("epsilon") && Contains("-1e-07"));
}
