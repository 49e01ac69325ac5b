// Regularizer penalties against hand-computed values (docs/semantics.md §4).
#include <catch2/catch.hpp>

#include <cmath>

#include "keel/autograd/engine.h"
#include "keel/autograd/ops.h"
#include "keel/core/error.h"
#include "keel/layers/regularizers.h"

using Catch::Matchers::Contains;
using keel::DType;
using keel::Regularizer;
using keel::Tensor;
namespace reg = keel::regularizers;

namespace {
Tensor sample() { return Tensor::from_vector({1, -2, 3, 0.5}, {2, 2}, DType::float64); }
}  // namespace

TEST_CASE("L1, L2 and L1L2 penalties", "[layers][regularizers]") {
  // Σ|w| = 6.5, Σw² = 14.25
  CHECK(Regularizer(reg::L1{.l1 = 0.1})(sample()).item() == Approx(0.65));
  CHECK(Regularizer(reg::L2{.l2 = 0.1})(sample()).item() == Approx(1.425));
  CHECK(Regularizer(reg::L1L2{.l1 = 0.1, .l2 = 0.2})(sample()).item() == Approx(0.65 + 2.85));
  CHECK(Regularizer("l1")(sample()).item() == Approx(0.065));
  CHECK(Regularizer("l2")(sample()).item() == Approx(0.1425));
  CHECK(Regularizer(reg::L1L2{})(sample()).item() == 0.0);
}

TEST_CASE("the L2 penalty's gradient is 2 l2 w", "[layers][regularizers]") {
  Tensor w = sample();
  keel::set_requires_grad(w, true);
  keel::backward(Regularizer(reg::L2{.l2 = 0.5})(w));
  CHECK(keel::grad(w).to_vector() == std::vector<double>{1, -2, 3, 0.5});
}

TEST_CASE("OrthogonalRegularizer is factor times the mean absolute cosine over pairs", "[layers][regularizers]") {
  Tensor w = Tensor::from_vector({1, 0, 1, 1, 0, 2}, {3, 2}, DType::float64);
  // Rows (1,0), (1,1), (0,2): |cos| = 1/√2, 0, 1/√2 over three pairs.
  CHECK(Regularizer(reg::OrthogonalRegularizer{.factor = 0.01})(w).item() == Approx(0.01 * std::sqrt(2.0) / 3));
  // Columns (1,1,0), (0,1,2): one pair, cos = 1/(√2·√5).
  CHECK(Regularizer(reg::OrthogonalRegularizer{.factor = 0.5, .mode = "columns"})(w).item() ==
        Approx(0.5 / std::sqrt(10.0)));
  Tensor orthogonal = Tensor::from_vector({2, 0, 0, 0, 3, 0}, {2, 3}, DType::float64);
  CHECK(Regularizer(reg::OrthogonalRegularizer{.factor = 1.0})(orthogonal).item() == Approx(0.0).margin(1e-12));
  REQUIRE_THROWS_WITH(Regularizer(reg::OrthogonalRegularizer{})(Tensor::ones({2, 2, 2}, DType::float64)),
                      Contains("rank-2") && Contains("[2, 2, 2]"));
  REQUIRE_THROWS_WITH(Regularizer(reg::OrthogonalRegularizer{.mode = "diagonal"})(w), Contains("diagonal"));
}

TEST_CASE("regularizers serialize, rebuild and resolve Keras names", "[layers][regularizers]") {
  std::vector<Regularizer> all = {reg::L1{.l1 = 0.3}, reg::L2{.l2 = 0.2}, reg::L1L2{.l1 = 0.1, .l2 = 0.4},
                                  reg::OrthogonalRegularizer{.factor = 0.2, .mode = "columns"}};
  for (const Regularizer& r : all) {
    nlohmann::json j = r.serialize();
    Regularizer back = reg::deserialize(j);
    CHECK(back.serialize() == j);
    CHECK(back(sample()).item() == Approx(r(sample()).item()));
  }
  CHECK(Regularizer("l1_l2").class_name() == "L1L2");
  CHECK(Regularizer("orthogonal_regularizer").class_name() == "OrthogonalRegularizer");
  CHECK(reg::deserialize(nullptr).serialize().is_null());
  REQUIRE_THROWS_AS(Regularizer("l3"), keel::ValueError);
  REQUIRE_THROWS_WITH(Regularizer("l3"), Contains("'l3'"));
}
