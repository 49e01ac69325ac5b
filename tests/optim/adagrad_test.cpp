#include <catch2/catch.hpp>

#include <cmath>

#include "keel/core/error.h"
#include "keel/optim/adagrad.h"
#include "optim/step_fixture.h"

using Catch::Matchers::Contains;
using namespace keel::optim::testing;
namespace optim = keel::optim;

namespace {

// docs/semantics.md §6: acc starts at the initial value; acc ← acc + g²; w ← w − lr·g/sqrt(acc + ε).
std::vector<Vec> adagrad_reference(double lr, double initial, double eps) {
  Vec w = kInitialWeights, acc(w.size(), initial);
  std::vector<Vec> out;
  for (const Vec& g : kGradients) {
    for (std::size_t i = 0; i < w.size(); ++i) {
      acc[i] += g[i] * g[i];
      w[i] -= lr * g[i] / std::sqrt(acc[i] + eps);
    }
    out.push_back(w);
  }
  return out;
}

}  // namespace

TEST_CASE("Adagrad: the first three steps, accumulator starting at 0.1", "[optim]") {
  optim::Adagrad adagrad({.learning_rate = 0.1});
  auto steps = run_steps(adagrad);
  check_steps(steps, adagrad_reference(0.1, 0.1, 1e-7), 1e-12);
  // Step 1 by hand for element 0: acc = 0.1 + 0.01 = 0.11.
  CHECK(steps[0][0] == Approx(0.5 - 0.1 * 0.1 / std::sqrt(0.11 + 1e-7)).margin(1e-12));
  optim::Adagrad zero_start({.learning_rate = 0.1, .initial_accumulator_value = 0.0, .epsilon = 1e-3});
  check_steps(run_steps(zero_start), adagrad_reference(0.1, 0.0, 1e-3), 1e-12);
}

TEST_CASE("Adagrad: a float32 variable follows the same updates", "[optim]") {
  optim::Adagrad adagrad({.learning_rate = 0.1});
  check_steps(run_steps(adagrad, keel::DType::float32), adagrad_reference(0.1, 0.1, 1e-7), 1e-6);
}

TEST_CASE("Adagrad: bad hyper-parameters are a ValueError naming the argument", "[optim]") {
  REQUIRE_THROWS_AS(optim::Adagrad({.initial_accumulator_value = -1.0}), keel::ValueError);
  REQUIRE_THROWS_WITH(optim::Adagrad({.initial_accumulator_value = -1.0}),
                      Contains("Adagrad") && Contains("initial_accumulator_value") && Contains("-1"));
  REQUIRE_THROWS_WITH(optim::Adagrad({.epsilon = 0.0}), Contains("epsilon"));
}
