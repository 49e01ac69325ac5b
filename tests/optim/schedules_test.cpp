#include <catch2/catch.hpp>

#include <cmath>
#include <numbers>

#include "keel/core/error.h"
#include "keel/optim/schedules.h"
#include "keel/optim/sgd.h"

using Catch::Matchers::Contains;
namespace optim = keel::optim;

TEST_CASE("ExponentialDecay: lr0 * rate^(step/decay_steps), floored when staircase", "[optim]") {
  optim::ExponentialDecay smooth(0.1, 10, 0.5);
  CHECK(smooth(0) == 0.1);
  CHECK(smooth(5) == Approx(0.1 * std::sqrt(0.5)).margin(1e-15));
  CHECK(smooth(10) == Approx(0.05).margin(1e-15));
  CHECK(smooth(25) == Approx(0.1 * std::pow(0.5, 2.5)).margin(1e-15));
  optim::ExponentialDecay stairs(0.1, 10, 0.5, true);
  CHECK(stairs(9) == 0.1);
  CHECK(stairs(10) == Approx(0.05).margin(1e-15));
  CHECK(stairs(25) == Approx(0.025).margin(1e-15));
  REQUIRE_THROWS_WITH(optim::ExponentialDecay(0.1, 0, 0.5), Contains("decay_steps") && Contains("0"));
}

TEST_CASE("PiecewiseConstantDecay: a step on a boundary keeps the value on its left", "[optim]") {
  optim::PiecewiseConstantDecay schedule({100, 200}, {1.0, 0.5, 0.1});
  CHECK(schedule(0) == 1.0);
  CHECK(schedule(100) == 1.0);
  CHECK(schedule(101) == 0.5);
  CHECK(schedule(200) == 0.5);
  CHECK(schedule(201) == 0.1);
  CHECK(schedule(100000) == 0.1);
  REQUIRE_THROWS_AS(optim::PiecewiseConstantDecay({100, 200}, {1.0, 0.5}), keel::ValueError);
  REQUIRE_THROWS_WITH(optim::PiecewiseConstantDecay({100, 200}, {1.0, 0.5}),
                      Contains("values") && Contains("2 values") && Contains("2 boundaries"));
  REQUIRE_THROWS_WITH(optim::PiecewiseConstantDecay({200, 100}, {1.0, 0.5, 0.1}), Contains("boundaries"));
}

TEST_CASE("CosineDecay: half-cosine from lr0 to alpha*lr0, flat after decay_steps", "[optim]") {
  optim::CosineDecay schedule(0.1, 100, 0.1);
  CHECK(schedule(0) == Approx(0.1).margin(1e-15));
  CHECK(schedule(50) == Approx(0.1 * (0.9 * 0.5 + 0.1)).margin(1e-15));
  CHECK(schedule(25) == Approx(0.1 * (0.9 * 0.5 * (1.0 + std::cos(std::numbers::pi / 4.0)) + 0.1)).margin(1e-15));
  CHECK(schedule(100) == Approx(0.01).margin(1e-15));
  CHECK(schedule(500) == Approx(0.01).margin(1e-15));
}

TEST_CASE("CosineDecay: linear warmup to warmup_target, then the cosine from the target", "[optim]") {
  optim::CosineDecay schedule(0.0, 100, 0.0, 1.0, 10);
  CHECK(schedule(0) == 0.0);
  CHECK(schedule(5) == Approx(0.5).margin(1e-15));
  CHECK(schedule(9) == Approx(0.9).margin(1e-15));
  CHECK(schedule(10) == Approx(1.0).margin(1e-15));
  CHECK(schedule(60) == Approx(0.5).margin(1e-15));
  CHECK(schedule(110) == Approx(0.0).margin(1e-15));
  // Without a target the warmup holds lr0 (docs/semantics.md §6: target = lr0).
  optim::CosineDecay held(0.2, 100, 0.0, std::nullopt, 10);
  CHECK(held(5) == 0.2);
  CHECK(held(60) == Approx(0.1).margin(1e-15));
  REQUIRE_THROWS_WITH(optim::CosineDecay(0.1, 100, 0.0, std::nullopt, -1), Contains("warmup_steps") && Contains("-1"));
}

TEST_CASE("an optimizer evaluates its schedule at its iteration count", "[optim]") {
  optim::SGD sgd({.learning_rate = std::make_shared<optim::PiecewiseConstantDecay>(std::vector<std::int64_t>{1},
                                                                                   std::vector<double>{1.0, 0.1})});
  keel::Variable w("w", keel::Tensor::zeros({1}, keel::DType::float64), true);
  auto g = keel::Tensor::ones({1}, keel::DType::float64);
  std::vector<double> seen;
  for (int i = 0; i < 3; ++i) {
    seen.push_back(sgd.learning_rate());
    sgd.apply_gradients({g}, {w});
  }
  CHECK(seen == std::vector<double>{1.0, 1.0, 0.1});
  CHECK(w.value().item() == Approx(-2.1).margin(1e-15));
}
