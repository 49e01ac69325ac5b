#include <catch2/catch.hpp>

#include "keel/autograd/autocast.h"
#include "keel/autograd/engine.h"
#include "keel/autograd/grad_mode.h"
#include "keel/autograd/ops.h"
#include "keel/autograd/variable.h"
#include "keel/core/error.h"

using Catch::Matchers::Contains;
using keel::AutocastScope;
using keel::DType;
using keel::Tensor;
using keel::Variable;

namespace {
// 1 + 2^-9 is below the halfway point to the next bfloat16 (1 + 2^-7), so it rounds to 1;
// 1 + 3·2^-8 is a tie and goes to the even 1 + 2^-6.
constexpr double kJustAboveOne = 1.0 + 0x1p-9;
constexpr double kTie = 1.0 + 3 * 0x1p-8;
}  // namespace

TEST_CASE("round_to_bfloat16 rounds the values and, on the way back, the gradient", "[autograd][bfloat16]") {
  Tensor x = keel::set_requires_grad(Tensor::from_vector({kJustAboveOne, kTie, -2.0}, {3}));
  Tensor y = keel::ops::round_to_bfloat16(x);
  CHECK(y.dtype() == DType::float32);
  CHECK(y.to_vector() == std::vector<double>{1.0, 1.0 + 0x1p-6, -2.0});
  // d/dx sum(y * c) is c, rounded as a bfloat16 gradient is.
  keel::backward(keel::ops::sum(y * Tensor::from_vector({kJustAboveOne, kTie, 3.0}, {3})));
  CHECK(keel::grad(x).to_vector() == std::vector<double>{1.0, 1.0 + 0x1p-6, 3.0});
}

TEST_CASE("round_to_bfloat16 takes float32 tensors only, strided ones included", "[autograd][bfloat16]") {
  REQUIRE_THROWS_WITH(keel::ops::round_to_bfloat16(Tensor::ones({2}, DType::float64)),
                      Contains("round_to_bfloat16") && Contains("float64"));
  Tensor m = Tensor::from_vector({kJustAboveOne, 2.0, 3.0, kTie}, {2, 2});
  Tensor t = keel::ops::round_to_bfloat16(keel::ops::transpose(m, 0, 1));
  CHECK(t.to_vector() == std::vector<double>{1.0, 3.0, 2.0, 1.0 + 0x1p-6});
}

TEST_CASE("an autocast scope rounds the variables read in it, once per scope, and the innermost decides",
          "[autograd][bfloat16]") {
  Variable w("w", Tensor::from_vector({kJustAboveOne, kTie}, {2}), true);
  Variable plain("plain", Tensor::from_vector({kJustAboveOne}, {1}), true, {}, {}, /*autocast=*/false);
  Variable wide("wide", Tensor::from_vector({kJustAboveOne}, {1}, DType::float64), true);
  CHECK(w.value().to_vector()[0] == static_cast<double>(static_cast<float>(kJustAboveOne)));
  {
    AutocastScope scope(true);
    CHECK(w.value().to_vector() == std::vector<double>{1.0, 1.0 + 0x1p-6});
    CHECK(&w.value() == &w.value());  // one rounding per variable and scope
    CHECK(plain.value().to_vector()[0] == static_cast<double>(static_cast<float>(kJustAboveOne)));
    CHECK(wide.value().to_vector()[0] == kJustAboveOne);  // only float32 values round
    {
      AutocastScope inner(false);
      CHECK(w.value().to_vector()[0] == static_cast<double>(static_cast<float>(kJustAboveOne)));
    }
    CHECK(w.value().to_vector()[0] == 1.0);
    // The rounded read is on the tape: the gradient reaches the float32 variable, rounded.
    keel::backward(keel::ops::sum(w.value() * Tensor::from_vector({kTie, 2.0}, {2})));
  }
  CHECK(w.grad().to_vector() == std::vector<double>{1.0 + 0x1p-6, 2.0});
  CHECK(w.value().to_vector()[0] == static_cast<double>(static_cast<float>(kJustAboveOne)));
  CHECK(keel::requires_grad(w.value()));
}
