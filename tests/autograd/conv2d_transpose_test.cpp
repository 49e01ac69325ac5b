// ops::conv2d_transpose's argument checks (its values and gradients: tests/layers/conv2d_transpose_test.cpp
// and the gradcheck cases in ops_gradcheck_test.cpp).
#include <catch2/catch.hpp>

#include "keel/autograd/ops.h"
#include "keel/core/error.h"

using Catch::Matchers::Contains;
using keel::Tensor;
namespace ops = keel::ops;

TEST_CASE("conv2d_transpose refuses mismatched shapes and output paddings naming them", "[conv2d_transpose][ops]") {
  const Tensor x = Tensor::ones({1, 4, 4, 3});
  REQUIRE_THROWS_WITH(ops::conv2d_transpose(Tensor::ones({4, 4, 3}), Tensor::ones({3, 3, 2, 3}), Tensor()),
                      Contains("conv2d_transpose") && Contains("rank-4"));
  REQUIRE_THROWS_WITH(ops::conv2d_transpose(x, Tensor::ones({3, 3, 2}), Tensor()), Contains("[kh, kw, filters, in]"));
  REQUIRE_THROWS_WITH(ops::conv2d_transpose(x, Tensor::ones({3, 3, 3, 2}), Tensor()),
                      Contains("3 channels") && Contains("expects 2"));
  REQUIRE_THROWS_WITH(ops::conv2d_transpose(x, Tensor::ones({3, 3, 2, 3}), Tensor::ones({3})),
                      Contains("bias shape [3]") && Contains("2 filters"));
  REQUIRE_THROWS_WITH(ops::conv2d_transpose(x, Tensor::ones({3, 3, 2, 3}), Tensor(),
                                            {.stride_h = 2, .stride_w = 2, .output_padding_h = 2, .output_padding_w = 0}),
                      Contains("output_padding 2") && Contains("stride 2") && Contains("height"));
  // "same", an even kernel and output_padding 0: 2 * (4 - 1) + 0 = 6 rows, which a "same" convolution maps to 3.
  REQUIRE_THROWS_WITH(ops::conv2d_transpose(x, Tensor::ones({2, 2, 2, 3}), Tensor(),
                                            {.stride_h = 2, .stride_w = 2, .output_padding_h = 0, .output_padding_w = 1,
                                             .same_padding = true}),
                      Contains("does not convolve back"));
  REQUIRE_THROWS_WITH(ops::conv2d_transpose(x, Tensor::ones({3, 3, 2, 3}), Tensor(), {.stride_h = 0}),
                      Contains("stride_h") && Contains("got 0"));
  CHECK(ops::conv2d_transpose(x, Tensor::ones({3, 3, 2, 3}), Tensor(), {.stride_h = 2, .stride_w = 3}).shape() ==
        keel::Shape{1, 9, 12, 2});  // 4 * 2 + (3 - 2) rows, 4 * 3 + 0 columns
}
