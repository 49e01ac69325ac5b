#include <catch2/catch.hpp>

#include "keel/core/error.h"
#include "keel/layers/repeat_vector.h"
#include "layer_test_support.h"

using Catch::Matchers::Contains;
using keel::Shape;
using keel::Tensor;
namespace layers = keel::layers;
using namespace layer_test;

TEST_CASE("RepeatVector repeats each sample n times", "[layers][repeat_vector]") {
  auto repeat = layers::RepeatVector({.n = 3});
  Tensor y = (*repeat)(Tensor::from_vector({1, 2, 3, 4}, {2, 2}));
  CHECK(y.shape() == Shape{2, 3, 2});
  check_values(y, {1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4});
  CHECK(repeat->compute_output_shape({5, 7}) == Shape{5, 3, 7});
  Float64Scope f64;
  check_layer_gradients(*layers::RepeatVector({.n = 4}), uniform({2, 3}, 181));
}

TEST_CASE("RepeatVector config round trip and bad arguments", "[layers][repeat_vector]") {
  auto rebuilt = check_round_trip(layers::RepeatVector({.n = 2}), uniform({2, 3}, 182, keel::DType::float32));
  CHECK(rebuilt->get_config()["n"] == 2);
  REQUIRE_THROWS_WITH(layers::RepeatVector({.n = 0}, "rep_zero"), Contains("rep_zero") && Contains("n") && Contains("0"));
  REQUIRE_THROWS_WITH((*layers::RepeatVector({.n = 2}, "rep_rank"))(Tensor::ones({2, 3, 4})),
                      Contains("rep_rank") && Contains("[2, 3, 4]"));
  REQUIRE_THROWS_AS(layers::RepeatVectorLayer::from_config({{"n", 2.0}}), keel::ValueError);
}
