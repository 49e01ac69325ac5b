// Constraint projections against hand-computed values (docs/semantics.md §4, e = 1e-7).
#include <catch2/catch.hpp>

#include <cmath>

#include "keel/core/error.h"
#include "keel/layers/constraints.h"

using Catch::Matchers::Contains;
using keel::Constraint;
using keel::DType;
using keel::Tensor;
namespace con = keel::constraints;

namespace {

constexpr double e = 1e-7;

// Columns (3, 4) and (0, 1): norms 5 and 1 over axis 0.
Tensor sample() { return Tensor::from_vector({3, 0, 4, 1}, {2, 2}, DType::float64); }

void check_values(const Tensor& got, const std::vector<double>& want) {
  std::vector<double> v = got.to_vector();
  REQUIRE(v.size() == want.size());
  for (std::size_t i = 0; i < v.size(); ++i) CHECK(v[i] == Approx(want[i]).epsilon(1e-12).margin(1e-15));
}

}  // namespace

TEST_CASE("MaxNorm rescales columns longer than max_value", "[layers][constraints]") {
  const double a = 2 / (5 + e), b = 1 / (1 + e);
  check_values(Constraint(con::MaxNorm{.max_value = 2.0})(sample()), {3 * a, 0 * b, 4 * a, 1 * b});
  // Over axis 1 the rows (3, 0) and (4, 1) have norms 3 and √17.
  const double r0 = 2 / (3 + e), r1 = 2 / (std::sqrt(17.0) + e);
  check_values(Constraint(con::MaxNorm{.max_value = 2.0, .axis = {1}})(sample()), {3 * r0, 0, 4 * r1, 1 * r1});
}

TEST_CASE("MinMaxNorm blends the clipped norm with rate", "[layers][constraints]") {
  // min 2, max 4, rate 0.5: column 0 wants 0.5·4 + 0.5·5 = 4.5, column 1 wants 0.5·2 + 0.5·1 = 1.5.
  const double a = 4.5 / (5 + e), b = 1.5 / (1 + e);
  check_values(Constraint(con::MinMaxNorm{.min_value = 2, .max_value = 4, .rate = 0.5})(sample()),
               {3 * a, 0, 4 * a, 1 * b});
  const double c = 1 / (5 + e), d = 1 / (1 + e);  // defaults: min 0, max 1, rate 1
  check_values(Constraint("min_max_norm")(sample()), {3 * c, 0, 4 * c, 1 * d});
}

TEST_CASE("NonNeg and UnitNorm", "[layers][constraints]") {
  check_values(Constraint("non_neg")(Tensor::from_vector({1, -2, 0, 3.5}, {2, 2}, DType::float64)), {1, 0, 0, 3.5});
  check_values(Constraint(con::UnitNorm{})(sample()), {3 / (5 + e), 0, 4 / (5 + e), 1 / (1 + e)});
}

TEST_CASE("conv kernels take a norm per output filter over axes 0 1 2", "[layers][constraints]") {
  // Kernel [1, 2, 1, 2]: filter 0 holds (1, 2), filter 1 holds (2, 2).
  Tensor k = Tensor::from_vector({1, 2, 2, 2}, {1, 2, 1, 2}, DType::float64);
  const double f0 = 1 / (std::sqrt(5.0) + e), f1 = 1 / (std::sqrt(8.0) + e);
  check_values(Constraint(con::UnitNorm{.axis = {0, 1, 2}})(k), {1 * f0, 2 * f1, 2 * f0, 2 * f1});
  const double m0 = 2 / (std::sqrt(5.0) + e), m1 = 2 / (std::sqrt(8.0) + e);
  check_values(Constraint(con::MaxNorm{.max_value = 2, .axis = {0, 1, 2}})(k), {1 * m0, 2 * m1, 2 * m0, 2 * m1});
}

TEST_CASE("constraints serialize, rebuild and resolve Keras names", "[layers][constraints]") {
  std::vector<Constraint> all = {con::MaxNorm{.max_value = 3, .axis = {0, 1, 2}},
                                 con::MinMaxNorm{.min_value = 0.5, .max_value = 2, .rate = 0.3, .axis = {1}},
                                 con::NonNeg{}, con::UnitNorm{.axis = {1}}};
  for (const Constraint& c : all) {
    nlohmann::json j = c.serialize();
    Constraint back = con::deserialize(j);
    CHECK(back.serialize() == j);
  }
  CHECK(con::deserialize({{"class_name", "MaxNorm"}, {"config", {{"max_value", 1.0}, {"axis", 1}}}})
            .as<con::MaxNorm>()
            ->axis == std::vector<std::int64_t>{1});
  CHECK(Constraint("max_norm").class_name() == "MaxNorm");
  CHECK(Constraint("unit_norm").class_name() == "UnitNorm");
  REQUIRE_THROWS_AS(Constraint("max_nrom"), keel::ValueError);
  REQUIRE_THROWS_WITH(Constraint("max_nrom"), Contains("'max_nrom'"));
}
