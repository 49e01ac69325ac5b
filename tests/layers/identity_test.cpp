#include <catch2/catch.hpp>

#include "keel/core/error.h"
#include "keel/layers/identity.h"
#include "layer_test_support.h"

using keel::Tensor;
namespace layers = keel::layers;
using namespace layer_test;

TEST_CASE("Identity returns its input, has no weights, and round-trips its config", "[layers][identity]") {
  Tensor x = uniform({2, 3, 4}, 61, keel::DType::float32);
  auto identity = layers::Identity();
  CHECK((*identity)(x).to_vector() == x.to_vector());
  CHECK(identity->weights().empty());
  CHECK(identity->compute_output_shape({2, 3, 4}) == keel::Shape{2, 3, 4});
  {
    Float64Scope f64;
    check_layer_gradients(*layers::Identity(), uniform({2, 3}, 62));
  }
  check_round_trip(identity, x);
  REQUIRE_THROWS_AS(layers::IdentityLayer::from_config({{"axis", 1}}), keel::ValueError);
}
