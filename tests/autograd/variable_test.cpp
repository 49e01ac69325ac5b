#include <catch2/catch.hpp>

#include "keel/autograd/engine.h"
#include "keel/autograd/ops.h"
#include "keel/autograd/variable.h"
#include "keel/core/error.h"

using Catch::Matchers::Contains;
using keel::Tensor;
using keel::Variable;

TEST_CASE("a trainable variable is a leaf that accumulates gradients - a non-trainable one is not") {
  Variable w("kernel", Tensor::from_vector({1.0, 2.0}, {2}), true);
  Variable m("moving_mean", Tensor::zeros({2}), false);
  CHECK(keel::requires_grad(w.value()));
  CHECK_FALSE(keel::requires_grad(m.value()));
  keel::backward(keel::ops::sum(w.value() * 3.0 + m.value()));
  CHECK(w.grad().to_vector() == std::vector<double>{3, 3});
  w.zero_grad();
  CHECK_FALSE(w.grad().defined());
}

TEST_CASE("copies of a variable share it - assign writes in place and checks the shape") {
  Variable w("w", Tensor::zeros({2}), true);
  Variable alias = w;
  alias.assign(Tensor::from_vector({5.0, 6.0}, {2}));
  CHECK(w.value().to_vector() == std::vector<double>{5, 6});
  CHECK(alias.same_as(w));
  REQUIRE_THROWS_AS(w.assign(Tensor::zeros({3})), keel::ShapeError);
  REQUIRE_THROWS_WITH(w.assign(Tensor::zeros({3})), Contains("'w'") && Contains("[3]") && Contains("[2]"));
}

TEST_CASE("assigning a variable between forward and backward makes backward refuse") {
  Variable w("w", Tensor::ones({2}), true);
  Tensor x = keel::set_requires_grad(Tensor::ones({2}));
  Tensor y = keel::ops::sum(x * w.value());
  w.assign(Tensor::zeros({2}));
  REQUIRE_THROWS_AS(keel::backward(y), keel::UsageError);
}

TEST_CASE("apply_constraint projects the value in place") {
  Variable w("w", Tensor::from_vector({-1.0, 2.0}, {2}), true, {},
             [](const Tensor& v) { return keel::ops::maximum(v, keel::ops::scalar_like(v, 0)); });
  w.apply_constraint();
  CHECK(w.value().to_vector() == std::vector<double>{0, 2});
}
