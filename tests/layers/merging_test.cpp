// The merge layers (Add, Subtract, Multiply, Average, Maximum, Minimum), Concatenate and Dot on real
// tensors: hand-computed values, Keras's broadcasting, gradients, configs and errors.
#include <catch2/catch.hpp>

#include "keel/autograd/gradcheck.h"
#include "keel/core/error.h"
#include "keel/layers/concatenate.h"
#include "keel/layers/dot.h"
#include "keel/layers/merging.h"
#include "keel/layers/registry.h"
#include "support/make_tensor.h"
#include "support/throws.h"

using Catch::Matchers::Contains;
using namespace keel;

namespace {

std::vector<double> merged(layers::Layer& layer, const std::vector<Tensor>& inputs) { return layer(inputs).to_vector(); }

}  // namespace

TEST_CASE("elementwise merge layers combine left to right", "[merge]") {
  Tensor a = test::f64({1, -2, 3, 4}, {2, 2}), b = test::f64({5, 6, -7, 8}, {2, 2}), c = test::f64({2, 2, 2, 2}, {2, 2});
  CHECK(merged(*layers::Add({}), {a, b, c}) == std::vector<double>{8, 6, -2, 14});
  CHECK(merged(*layers::Subtract({}), {a, b}) == std::vector<double>{-4, -8, 10, -4});
  CHECK(merged(*layers::Multiply({}), {a, b, c}) == std::vector<double>{10, -24, -42, 64});
  CHECK(merged(*layers::Average({}), {a, b}) == std::vector<double>{3, 2, -2, 6});
  CHECK(merged(*layers::Maximum({}), {a, b}) == std::vector<double>{5, 6, 3, 8});
  CHECK(merged(*layers::Minimum({}), {a, b}) == std::vector<double>{1, -2, -7, 4});
  CHECK(merged(*layers::Add({}), {a}) == a.to_vector());  // Keras 3 takes one input
}

TEST_CASE("merge layers broadcast as Keras does: from the right, lower ranks gain axes after the batch axis",
          "[merge]") {
  Tensor a = test::f64({1, 2, 3, 4, 5, 6}, {2, 3});
  // [2, 1] stretches along the last axis.
  CHECK(merged(*layers::Add({}), {a, test::f64({10, 20}, {2, 1})}) == std::vector<double>{11, 12, 13, 24, 25, 26});
  // [2] has lower rank: it becomes [2, 1], one value per sample.
  CHECK(merged(*layers::Multiply({}), {a, test::f64({2, -1}, {2})}) == std::vector<double>{2, 4, 6, -4, -5, -6});
  auto add = layers::Add({}, "sum");
  CHECK(add->merged_shape({{-1, 4, 1}, {-1, 3}}) == Shape{-1, 4, 3});
  KEEL_CHECK_THROWS(add->merged_shape({{2, 3}, {2, 4}}), ValueError,
                    Contains("Add 'sum': inputs have incompatible shapes [[2, 3], [2, 4]]"));
  KEEL_CHECK_THROWS((*add)(std::vector<Tensor>{a, test::f64({1, 2, 3}, {1, 3})}), ValueError,
                    Contains("different batch sizes"));
  KEEL_CHECK_THROWS((*layers::Subtract({}, "minus"))(std::vector<Tensor>{a, a, a}), ValueError,
                    Contains("Subtract 'minus' should be called on exactly 2 inputs, got 3"));
  KEEL_CHECK_THROWS((*add)(std::vector<Tensor>{}), ValueError, Contains("at least 1 input"));
}

TEST_CASE("merge layers pass gradients to every input", "[merge][gradcheck]") {
  for (const char* name : {"Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"}) {
    INFO(name);
    layers::LayerPtr layer = layers::deserialize({{"class_name", name}, {"config", {{"name", "m"}}}});
    layer->set_dtype(DType::float64);
    auto f = [&](const std::vector<Tensor>& xs) { return (*layer)(xs); };
    // Distinct values, so Maximum and Minimum have no ties.
    auto r = gradcheck(f, {test::f64({0.5, -1.5, 2.25, 3.0}, {2, 2}), test::f64({1.0, -0.25, -2.0, 4.5}, {2, 2})});
    CHECK(r.ok);
    INFO(r.message);
  }
}

TEST_CASE("Concatenate joins along its axis", "[merge]") {
  Tensor a = test::f64({1, 2, 3, 4}, {2, 2}), b = test::f64({5, 6}, {2, 1});
  CHECK(merged(*layers::Concatenate({}), {a, b}) == std::vector<double>{1, 2, 5, 3, 4, 6});
  CHECK(merged(*layers::Concatenate({.axis = 1}), {a, b}) == std::vector<double>{1, 2, 5, 3, 4, 6});
  auto cat = layers::Concatenate({.axis = 1}, "cat");
  CHECK(cat->concatenated_shape({{-1, 2, 3}, {-1, 5, 3}}) == Shape{-1, 7, 3});
  KEEL_CHECK_THROWS(cat->concatenated_shape({{-1, 2, 3}, {-1, 5, 4}}), ValueError,
                    Contains("Concatenate 'cat' requires inputs with matching shapes except for the concatenation axis"));
  KEEL_CHECK_THROWS(layers::Concatenate({.axis = 0}, "c0")->concatenated_shape({{2, 3}, {2, 3}}), ValueError,
                    Contains("the batch axis cannot be joined"));
  auto cat64 = layers::Concatenate({});
  cat64->set_dtype(DType::float64);
  auto f = [&](const std::vector<Tensor>& xs) { return (*cat64)(xs); };
  CHECK(gradcheck(f, {test::f64({1, 2, 3, 4}, {2, 2}), test::f64({5, 6}, {2, 1})}).ok);
  auto back = layers::deserialize(cat->serialize());
  CHECK(back->get_config() == cat->get_config());
}

TEST_CASE("Dot contracts one axis of each input, as Keras's batch_dot", "[merge]") {
  // Keras's documented case: x = arange(10) as [1, 5, 2], y = arange(10, 20) as [1, 2, 5], axes (1, 2):
  // out[i][j] = Σ_k x[k][i]·y[j][k] = [[260, 360], [320, 445]].
  std::vector<double> xs(10), ys(10);
  for (int i = 0; i < 10; ++i) xs[i] = i, ys[i] = 10 + i;
  auto dot = layers::Dot({.axes = {1, 2}}, "dot");
  Tensor out = (*dot)(std::vector<Tensor>{test::f64(xs, {1, 5, 2}), test::f64(ys, {1, 2, 5})});
  CHECK(out.shape() == Shape{1, 2, 2});
  CHECK(out.to_vector() == std::vector<double>{260, 360, 320, 445});
  // [B, n]·[B, n] keeps two axes: [B, 1]. normalize gives the cosine: (3·4 + 4·3) / (5·5) = 0.96.
  Tensor a = test::f64({3, 4, 1, 0}, {2, 2}), b = test::f64({4, 3, 0, 2}, {2, 2});
  CHECK((*layers::Dot({.axes = 1}))(std::vector<Tensor>{a, b}).to_vector() == std::vector<double>{24, 0});
  Tensor cosine = (*layers::Dot({.axes = -1, .normalize = true}))(std::vector<Tensor>{a, b});
  CHECK(cosine.shape() == Shape{2, 1});
  CHECK(cosine.to_vector()[0] == Approx(0.96));
  CHECK(cosine.to_vector()[1] == Approx(0.0));
  auto cosine64 = layers::Dot({.axes = 1, .normalize = true});
  cosine64->set_dtype(DType::float64);
  auto f = [&](const std::vector<Tensor>& in) { return (*cosine64)(in); };
  CHECK(gradcheck(f, {a, b}).ok);
  KEEL_CHECK_THROWS((*dot)(std::vector<Tensor>{a, b}), ValueError, Contains("Dot 'dot': axis 2 is out of range"));
  KEEL_CHECK_THROWS((*layers::Dot({.axes = 1}, "d"))(std::vector<Tensor>{a, test::f64({1, 2, 3, 4, 5, 6}, {2, 3})}),
                    ValueError, Contains("axis values 2 (at axis 1) != 3 (at axis 1)"));
  KEEL_CHECK_THROWS(layers::Dot({}, "none"), ValueError, Contains("Dot 'none': axes must be one int or a pair"));
  auto back = layers::deserialize(dot->serialize());
  CHECK(back->get_config()["axes"] == nlohmann::json::parse("[1, 2]"));
  CHECK(layers::deserialize(layers::Dot({.axes = -1})->serialize())->get_config()["axes"] == -1);
}
