#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "keel/core/error.h"
#include "keel/optim/sgd.h"
#include "optim/step_fixture.h"

using Catch::Matchers::Contains;
using namespace keel::optim::testing;
namespace optim = keel::optim;

namespace {

// docs/semantics.md §6: m ← μm − lr·g; w ← w + m (nesterov: w ← w + μm − lr·g with the new m).
std::vector<Vec> sgd_reference(double lr, double mu, bool nesterov) {
  Vec w = kInitialWeights, m(w.size(), 0.0);
  std::vector<Vec> out;
  for (const Vec& g : kGradients) {
    for (std::size_t i = 0; i < w.size(); ++i) {
      if (mu == 0.0) {
        w[i] -= lr * g[i];
        continue;
      }
      m[i] = mu * m[i] - lr * g[i];
      w[i] += nesterov ? mu * m[i] - lr * g[i] : m[i];
    }
    out.push_back(w);
  }
  return out;
}

}  // namespace

TEST_CASE("SGD: the first three plain steps are w - lr*g", "[optim]") {
  optim::SGD sgd({.learning_rate = 0.1});
  auto steps = run_steps(sgd);
  check_steps(steps, sgd_reference(0.1, 0.0, false), 1e-12);
  // Step 1 by hand: 0.5 - 0.1*0.1, -1.5 + 0.1*0.2, 2 - 0.1*0.3.
  check_steps({steps[0]}, {{0.49, -1.48, 1.97}}, 1e-12);
  CHECK(sgd.iterations() == 3);
}

TEST_CASE("SGD: momentum and Nesterov follow Keras's velocity form for three steps", "[optim]") {
  optim::SGD momentum({.learning_rate = 0.1, .momentum = 0.9});
  check_steps(run_steps(momentum), sgd_reference(0.1, 0.9, false), 1e-12);
  optim::SGD nesterov({.learning_rate = 0.1, .momentum = 0.9, .nesterov = true});
  auto steps = run_steps(nesterov);
  check_steps(steps, sgd_reference(0.1, 0.9, true), 1e-12);
  // Nesterov step 1 by hand: m = -0.01, w = 0.5 + 0.9*(-0.01) - 0.01 = 0.481.
  CHECK(steps[0][0] == Approx(0.481).margin(1e-12));
}

TEST_CASE("SGD: a float32 variable follows the same updates", "[optim]") {
  optim::SGD sgd({.learning_rate = 0.1, .momentum = 0.9, .nesterov = true});
  check_steps(run_steps(sgd, keel::DType::float32), sgd_reference(0.1, 0.9, true), 1e-6);
}

TEST_CASE("SGD: bad hyper-parameters are a ValueError naming the argument", "[optim]") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  REQUIRE_THROWS_WITH(optim::SGD({.learning_rate = 0.0}), Contains("SGD") && Contains("learning_rate") && Contains("0"));
  REQUIRE_THROWS_WITH(optim::SGD({.learning_rate = -0.5}), Contains("learning_rate") && Contains("-0.5"));
  REQUIRE_THROWS_WITH(optim::SGD({.learning_rate = nan}), Contains("learning_rate") && Contains("nan"));
  REQUIRE_THROWS_AS(optim::SGD({.momentum = -0.1}), keel::ValueError);
  REQUIRE_THROWS_WITH(optim::SGD({.momentum = -0.1}), Contains("momentum") && Contains("-0.1"));
  REQUIRE_THROWS_WITH(optim::SGD({.momentum = 1.5}), Contains("momentum") && Contains("1.5"));
  REQUIRE_THROWS_WITH(optim::SGD({.momentum = nan}), Contains("momentum") && Contains("nan"));
}
