#include <catch2/catch.hpp>

#include "keel/core/error.h"
#include "keel/layers/permute.h"
#include "layer_test_support.h"

using Catch::Matchers::Contains;
using keel::Shape;
using keel::Tensor;
namespace layers = keel::layers;
using namespace layer_test;

TEST_CASE("Permute reorders the non-batch axes by 1-based dims", "[layers][permute]") {
  Tensor x = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {1, 2, 3});
  auto swap = layers::Permute({.dims = {2, 1}});
  CHECK(swap->compute_output_shape({1, 2, 3}) == Shape{1, 3, 2});
  Tensor y = (*swap)(x);
  CHECK(y.shape() == Shape{1, 3, 2});
  check_values(y, {1, 4, 2, 5, 3, 6});
  CHECK(layers::Permute({.dims = {3, 1, 2}})->compute_output_shape({5, 2, 3, 4}) == Shape{5, 4, 2, 3});
  Float64Scope f64;
  check_layer_gradients(*layers::Permute({.dims = {3, 1, 2}}), uniform({2, 2, 3, 2}, 171));
}

TEST_CASE("Permute config round trip and bad dims", "[layers][permute]") {
  auto rebuilt = check_round_trip(layers::Permute({.dims = {2, 1}}), uniform({2, 3, 4}, 172, keel::DType::float32));
  CHECK(rebuilt->get_config()["dims"] == nlohmann::json::array({2, 1}));
  REQUIRE_THROWS_WITH(layers::Permute({.dims = {1, 3}}, "perm_bad"), Contains("perm_bad") && Contains("dims") && Contains("[1, 3]"));
  REQUIRE_THROWS_AS(layers::Permute({.dims = {0, 1}}), keel::ValueError);
  REQUIRE_THROWS_AS(layers::Permute({.dims = {1, 1}}), keel::ValueError);
  REQUIRE_THROWS_WITH((*layers::Permute({.dims = {2, 1}}, "perm_rank"))(Tensor::ones({2, 3})),
                      Contains("perm_rank") && Contains("rank 3") && Contains("[2, 3]"));
}
