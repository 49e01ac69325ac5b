// Models run Activation("relu") → MaxPooling2D as the pooling first, then the ReLU on the smaller
// tensor (models/detail/relu_max_pool_pass.h). These tests hold the pass to the promise that nothing
// observable changes, and check which pairs it rewrites.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "keel/autograd/engine.h"
#include "keel/autograd/ops.h"
#include "keel/core/random.h"
#include "keel/layers/activation_layer.h"
#include "keel/layers/conv2d.h"
#include "keel/layers/dense.h"
#include "keel/layers/flatten.h"
#include "keel/layers/input.h"
#include "keel/layers/pooling2d.h"
#include "keel/models/detail/relu_max_pool_pass.h"
#include "keel/models/functional.h"
#include "keel/models/sequential.h"
#include "models/graph_chain.h"
#include "models/model_test_support.h"

using namespace keel;

namespace {

// Windows of every kind: all negative, zeros of both signs, ties, a NaN, positives.
Tensor awkward_input() {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  std::vector<double> v = {-3, -1, 0,  -0.0, 2,  2,   //
                           -2, -5, -0.0, 0, 1,  2,    //
                           4,  nan, -1, -1, 0,  -2,   //
                           -7, 3,  -1, -4, -0.0, -1,  //
                           5,  5,  -2, 1,  -3, -0.0,  //
                           5,  -1, -2, 1,  -3, 0};
  std::vector<double> both(v);  // two channels: the second is the first reversed
  both.clear();
  for (std::size_t i = 0; i < v.size(); ++i) {
    both.push_back(v[i]);
    both.push_back(v[v.size() - 1 - i]);
  }
  return Tensor::from_vector(both, {1, 6, 6, 2}, DType::float32);
}

}  // namespace

TEST_CASE("relu then max pooling in a Sequential equals the layers called in order, values and gradients",
          "[model]") {
  for (const std::string padding : {"valid", "same"}) {
    for (auto pool : {layers::Pooling2DOptions{.pool_size = 2}, layers::Pooling2DOptions{.pool_size = 3, .strides = 1}}) {
      pool.padding = padding;
      auto relu = layers::Activation({.activation = "relu"});
      auto max_pool = layers::MaxPooling2D(pool);
      Sequential model({layers::Input({.shape = {6, 6, 2}}), relu, max_pool});
      model.build_from_declared_input();

      Tensor x1 = set_requires_grad(awkward_input());
      Tensor got = model(x1, layers::CallContext{.training = true});
      backward(ops::sum(got * random::normal(got.shape(), 0, 1, 5)));
      Tensor x2 = set_requires_grad(awkward_input());
      Tensor want = (*max_pool)((*relu)(x2, true), true);
      backward(ops::sum(want * random::normal(want.shape(), 0, 1, 5)));
      INFO("padding " << padding << ", pool " << pool.pool_size.h);
      CHECK(test::tensor_bytes(got) == test::tensor_bytes(want));
      CHECK(test::tensor_bytes(grad(x1)) == test::tensor_bytes(grad(x2)));
    }
  }
}

TEST_CASE("a convnet with relu before max pooling trains to the same weights as its layers in order", "[model]") {
  set_random_seed(11);
  std::vector<layers::LayerPtr> stack = {layers::Conv2D({.filters = 3, .kernel_size = 3}), layers::Activation({.activation = "relu"}),
                                         layers::MaxPooling2D({.pool_size = 2}), layers::Flatten({}), layers::Dense({.units = 2})};
  Sequential model({layers::Input({.shape = {8, 8, 1}}), stack[0], stack[1], stack[2], stack[3], stack[4]});
  model.build_from_declared_input();
  Tensor x = random::normal({4, 8, 8, 1}, 0, 1, 12);
  Tensor got = model(x, layers::CallContext{.training = true});
  backward(ops::sum(got * got));
  std::vector<Tensor> got_grads;
  for (const Variable& v : model.trainable_weights()) got_grads.push_back(v.grad());
  for (const Variable& v : model.trainable_weights()) v.zero_grad();

  Tensor h = x;
  for (const auto& layer : stack) h = (*layer)(h, true);
  backward(ops::sum(h * h));
  CHECK(test::tensor_bytes(got) == test::tensor_bytes(h));
  auto weights = model.trainable_weights();
  REQUIRE(weights.size() == got_grads.size());
  for (std::size_t i = 0; i < weights.size(); ++i) CHECK(test::tensor_bytes(weights[i].grad()) == test::tensor_bytes(got_grads[i]));
}

namespace {
// A user's relu that also looks at its input: it must see the unpooled tensor.
class WatchedRelu : public layers::ActivationLayer {
 public:
  WatchedRelu() : ActivationLayer({.activation = "relu"}) {}
  Shape seen;

 protected:
  Tensor call(const Tensor& x, const layers::CallContext& ctx) override {
    seen = x.shape();
    return ActivationLayer::call(x, ctx);
  }
};
}  // namespace

TEST_CASE("a subclass of Activation stays before the pooling", "[model]") {
  auto relu = std::make_shared<WatchedRelu>();
  Sequential model({layers::Input({.shape = {6, 6, 2}}), relu, layers::MaxPooling2D({.pool_size = 2})});
  model.build_from_declared_input();
  model(awkward_input(), layers::CallContext{.training = true});
  CHECK(relu->seen == Shape{1, 6, 6, 2});
}

TEST_CASE("only keel's own relu counts as the built-in relu", "[model]") {
  CHECK(keel::Activation("relu").is_builtin_relu());
  CHECK_FALSE(keel::Activation("relu6").is_builtin_relu());
  CHECK_FALSE(keel::Activation("relu", [](const Tensor& t) { return ops::relu(t); }).is_builtin_relu());
}

TEST_CASE("relu then max pooling in a functional model equals the layers called in order", "[model]") {
  auto relu = layers::Activation({.activation = "relu"});
  auto max_pool = layers::MaxPooling2D({.pool_size = 2});
  auto conv = layers::Conv2D({.filters = 2, .kernel_size = 1, .kernel_initializer = "ones"});
  auto inputs = Input({.shape = {6, 6, 2}});
  auto model = Model::functional(inputs, max_pool(relu(conv(inputs))));
  Tensor x1 = set_requires_grad(awkward_input());
  Tensor got = (*model)(x1, layers::CallContext{.training = true});
  backward(ops::sum(got * random::normal(got.shape(), 0, 1, 5)));
  Tensor x2 = set_requires_grad(awkward_input());
  Tensor want = (*max_pool)((*relu)((*conv)(x2, true), true), true);
  backward(ops::sum(want * random::normal(want.shape(), 0, 1, 5)));
  CHECK(test::tensor_bytes(got) == test::tensor_bytes(want));
  CHECK(test::tensor_bytes(grad(x1)) == test::tensor_bytes(grad(x2)));
}

namespace {

using models::detail::GraphStep;

// Steps for input slot 0 -> conv (slot 1) -> relu (slot 2) -> pool (slot 3).
struct Chain {
  static std::shared_ptr<layers::Node> node(const layers::LayerPtr& layer) { return test::graph_node(layer); }
  layers::LayerPtr conv = layers::Conv2D({.filters = 1, .kernel_size = 1});
  layers::LayerPtr relu = layers::Activation({.activation = "relu"});
  layers::LayerPtr pool = layers::MaxPooling2D({.pool_size = 2});
  std::vector<GraphStep> steps = test::chain_steps({conv, relu, pool});
};

}  // namespace

TEST_CASE("the relu and max pooling pass rewrites only the pairs it may", "[model]") {
  SECTION("a relu read only by the pooling runs after it") {
    Chain c;
    models::detail::reorder_relu_before_max_pool(c.steps, {3});
    REQUIRE(c.steps.size() == 2);
    CHECK(c.steps[1].node->layer == c.pool);
    CHECK(c.steps[1].inputs == std::vector<std::size_t>{1});
    CHECK(c.steps[1].then == c.relu);
    CHECK(c.steps[1].output == 3);
  }
  SECTION("a relu whose output another layer reads stays") {
    Chain c;
    c.steps.push_back(GraphStep{.node = c.node(layers::Flatten({})), .inputs = {2}, .output = 4});
    models::detail::reorder_relu_before_max_pool(c.steps, {3, 4});
    CHECK(c.steps.size() == 4);
  }
  SECTION("a relu whose output is a model output stays") {
    Chain c;
    models::detail::reorder_relu_before_max_pool(c.steps, {2, 3});
    CHECK(c.steps.size() == 3);
  }
  SECTION("a relu on a model input (which may carry a mask) stays") {
    Chain c;
    c.steps.erase(c.steps.begin());
    c.steps[0].inputs = {0};
    c.steps[0].reads_model_input = true;
    models::detail::reorder_relu_before_max_pool(c.steps, {3});
    CHECK(c.steps.size() == 2);
  }
  SECTION("another activation stays") {
    Chain c;
    c.steps[1].node = c.node(layers::Activation({.activation = "tanh"}));
    models::detail::reorder_relu_before_max_pool(c.steps, {3});
    CHECK(c.steps.size() == 3);
  }
}
