// ops::depthwise_conv2d's argument checks (its values and gradients: tests/core/kernels/depthwise_conv2d_test.cpp
// and the gradcheck cases in ops_gradcheck_test.cpp).
#include <catch2/catch.hpp>

#include "keel/autograd/ops.h"
#include "keel/core/error.h"

using Catch::Matchers::Contains;
using keel::Tensor;
namespace ops = keel::ops;

TEST_CASE("depthwise_conv2d refuses mismatched shapes naming them", "[depthwise][ops]") {
  const Tensor x = Tensor::ones({1, 5, 5, 3});
  REQUIRE_THROWS_WITH(ops::depthwise_conv2d(Tensor::ones({5, 5, 3}), Tensor::ones({3, 3, 3, 1}), Tensor()),
                      Contains("depthwise_conv2d") && Contains("rank-4"));
  REQUIRE_THROWS_WITH(ops::depthwise_conv2d(x, Tensor::ones({3, 3, 3}), Tensor()),
                      Contains("depthwise_conv2d") && Contains("[kh, kw, in, multiplier]"));
  REQUIRE_THROWS_WITH(ops::depthwise_conv2d(x, Tensor::ones({3, 3, 2, 1}), Tensor()),
                      Contains("3 channels") && Contains("expects 2"));
  REQUIRE_THROWS_WITH(ops::depthwise_conv2d(x, Tensor::ones({3, 3, 3, 2}), Tensor::ones({3})),
                      Contains("bias shape [3]") && Contains("multiplier 2"));
  REQUIRE_THROWS_WITH(ops::depthwise_conv2d(x, Tensor::ones({3, 3, 3, 0}), Tensor()), Contains("depth_multiplier"));
  REQUIRE_THROWS_AS(ops::depthwise_conv2d(Tensor::ones({1, 5, 5, 3}, keel::DType::int64),
                                          Tensor::ones({3, 3, 3, 1}, keel::DType::int64), Tensor()),
                    keel::ValueError);
  // channels_first reads the channels from axis 1.
  CHECK(ops::depthwise_conv2d(Tensor::ones({1, 3, 5, 4}), Tensor::ones({3, 3, 3, 2}), Tensor(), {.channels_first = true})
            .shape() == keel::Shape{1, 6, 3, 2});
}
