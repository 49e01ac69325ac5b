// Models run BatchNormalization → (ReLU →) MaxPooling2D as one step (models/detail/batch_norm_max_pool_pass.h,
// layers/batch_norm_max_pool.h): in inference one pass over the normalization's input. These tests hold it
// to the promise that nothing observable changes, in inference and in training, and check when it fuses.
#include <catch2/catch.hpp>

#include <limits>
#include <map>
#include <string>

#include "keel/autograd/engine.h"
#include "keel/autograd/grad_mode.h"
#include "keel/autograd/ops.h"
#include "keel/core/profiler.h"
#include "keel/core/random.h"
#include "keel/layers/activation_layer.h"
#include "keel/layers/batch_norm_max_pool.h"
#include "keel/layers/batch_normalization.h"
#include "keel/layers/conv2d.h"
#include "keel/layers/input.h"
#include "keel/layers/pooling2d.h"
#include "keel/models/detail/batch_norm_max_pool_pass.h"
#include "keel/models/detail/relu_max_pool_pass.h"
#include "keel/models/functional.h"
#include "keel/models/sequential.h"
#include "models/graph_chain.h"
#include "models/model_test_support.h"
#include "support/floatx.h"

using namespace keel;

namespace {

// A conv → BN → relu → pool stack on [h, w, 2] inputs with statistics far from the defaults: a negative
// gamma (the window's minimum becomes its maximum), a zero beta, a large moving mean.
struct Stack {
  layers::LayerPtr conv, bn, relu, pool;
  std::shared_ptr<Sequential> model;

  Stack(std::int64_t h, std::int64_t w, DType dtype, layers::Pooling2DOptions pool_options = {.pool_size = 2}) {
    test::Floatx floatx(dtype);
    conv = layers::Conv2D({.filters = 16, .kernel_size = 1});
    bn = layers::BatchNormalization();
    relu = layers::Activation({.activation = "relu"});
    pool = layers::MaxPooling2D(pool_options);
    model = std::make_shared<Sequential>(
        std::vector<layers::LayerPtr>{layers::Input({.shape = {h, w, 2}, .dtype = dtype}), conv, bn, relu, pool});
    model->build_from_declared_input();
    std::vector<double> gamma, beta, mean, var;
    for (int c = 0; c < 16; ++c) {
      gamma.push_back(c == 3 ? -1.5 : 0.5 + 0.1 * c);
      beta.push_back(c == 5 ? 0.0 : 0.3 - 0.05 * c);
      mean.push_back(c == 7 ? 1e3 : 0.2 * c - 1);
      var.push_back(0.5 + 0.25 * c);
    }
    bn->set_weights({Tensor::from_vector(gamma, {16}, dtype), Tensor::from_vector(beta, {16}, dtype),
                     Tensor::from_vector(mean, {16}, dtype), Tensor::from_vector(var, {16}, dtype)});
  }

  Tensor in_order(const Tensor& x, bool training) {
    Tensor h = x;
    for (const auto& layer : {conv, bn, relu, pool}) h = (*layer)(h, training);
    return h;
  }
};

// Normal values with a NaN and signed zeros.
Tensor input(Shape shape, DType dtype, std::uint64_t seed) {
  std::vector<double> v = random::normal(shape, 0, 2, seed, DType::float64).to_vector();
  v[5] = std::numeric_limits<double>::quiet_NaN();
  v[9] = -0.0;
  v[10] = 0.0;
  return Tensor::from_vector(v, shape, dtype);
}

}  // namespace

TEST_CASE("batch normalization, relu and max pooling predict the bits of the layers called in order", "[model]") {
  for (DType dtype : {DType::float32, DType::float64}) {
    for (auto [h, w] : {std::pair<std::int64_t, std::int64_t>{6, 6}, {7, 9}, {26, 26}}) {
      INFO(dtype_name(dtype) << " " << h << "x" << w);
      Stack s(h, w, dtype);
      const Tensor x = input({5, h, w, 2}, dtype, 3);
      const Tensor got = s.model->predict_on_batch(x);
      NoGrad no_grad;
      CHECK(test::tensor_bytes(got) == test::tensor_bytes(s.in_order(x, false)));
    }
  }
}

namespace {

// How many calls each profiled scope saw while fn ran.
template <class Fn>
std::map<std::string, std::int64_t> profiled_calls(Fn&& fn) {
  const bool was = profile::enabled();
  profile::set_enabled(true);
  profile::reset();
  fn();
  std::map<std::string, std::int64_t> calls;
  for (const profile::Entry& e : profile::entries()) calls[e.name] = e.calls;
  profile::reset();
  profile::set_enabled(was);
  return calls;
}

}  // namespace

TEST_CASE("predict runs the fused pass and training the two layers", "[model]") {
  Stack s(6, 6, DType::float32);
  const Tensor x = input({2, 6, 6, 2}, DType::float32, 8);
  auto inference = profiled_calls([&] { s.model->predict_on_batch(x); });
  CHECK(inference["BatchNormalization+MaxPooling2D forward"] == 1);
  CHECK(inference.count("BatchNormalization forward") == 0);
  auto training = profiled_calls([&] { (*s.model)(x, layers::CallContext{.training = true}); });
  CHECK(training.count("BatchNormalization+MaxPooling2D forward") == 0);
  CHECK(training["BatchNormalization forward"] == 1);
  CHECK(training["MaxPooling2D forward"] == 1);
}

TEST_CASE("batch normalization before max pooling trains as the layers called in order", "[model]") {
  Stack fused(6, 6, DType::float32), plain(6, 6, DType::float32);
  plain.conv->set_weights(fused.conv->get_weights());
  const Tensor x = input({4, 6, 6, 2}, DType::float32, 4);
  Tensor got = (*fused.model)(x, layers::CallContext{.training = true});
  backward(ops::sum(got * got));
  Tensor want = plain.in_order(x, true);
  backward(ops::sum(want * want));
  CHECK(test::tensor_bytes(got) == test::tensor_bytes(want));
  CHECK(test::tensor_bytes(fused.bn->get_weights()[2]) == test::tensor_bytes(plain.bn->get_weights()[2]));
  CHECK(test::tensor_bytes(fused.bn->get_weights()[3]) == test::tensor_bytes(plain.bn->get_weights()[3]));
  const auto got_weights = fused.model->trainable_weights(), want_weights = std::vector<Variable>{
      plain.conv->weights()[0], plain.conv->weights()[1], plain.bn->weights()[0], plain.bn->weights()[1]};
  REQUIRE(got_weights.size() == want_weights.size());
  for (std::size_t i = 0; i < got_weights.size(); ++i)
    CHECK(test::tensor_bytes(got_weights[i].grad()) == test::tensor_bytes(want_weights[i].grad()));
}

TEST_CASE("inference with gradients recorded reaches the input as the layers called in order", "[model]") {
  Stack s(6, 6, DType::float64);
  Tensor x1 = set_requires_grad(input({2, 6, 6, 2}, DType::float64, 5));
  Tensor got = (*s.model)(x1, layers::CallContext{.training = false});
  backward(ops::sum(got * got));
  Tensor x2 = set_requires_grad(input({2, 6, 6, 2}, DType::float64, 5));
  Tensor want = s.in_order(x2, false);
  backward(ops::sum(want * want));
  CHECK(test::tensor_bytes(got) == test::tensor_bytes(want));
  CHECK(test::tensor_bytes(grad(x1)) == test::tensor_bytes(grad(x2)));
}

TEST_CASE("batch_norm_then_max_pool fuses only plain inference calls", "[model]") {
  Stack s(6, 6, DType::float32);
  auto& bn = static_cast<layers::BatchNormalizationLayer&>(*s.bn);
  auto& pool = static_cast<layers::MaxPooling2DLayer&>(*s.pool);
  const Tensor h = (*s.conv)(input({2, 6, 6, 2}, DType::float32, 6), false);
  const layers::CallContext inference{.training = false}, training{.training = true};
  {
    NoGrad no_grad;
    CHECK(layers::batch_norm_max_pool_fuses(bn, inference, pool, inference, h));
    CHECK_FALSE(layers::batch_norm_max_pool_fuses(bn, training, pool, inference, h));
    CHECK_FALSE(layers::batch_norm_max_pool_fuses(bn, inference, pool, inference, ops::cast(h, DType::float64)));
    CHECK_FALSE(layers::batch_norm_max_pool_fuses(bn, inference, pool, inference, h.reshape({2, 36, 16})));
    auto wide = layers::MaxPooling2D({.pool_size = 3, .strides = 1});
    (*wide)(h, false);
    CHECK_FALSE(layers::batch_norm_max_pool_fuses(bn, inference, static_cast<layers::MaxPooling2DLayer&>(*wide),
                                                  inference, h));
    auto same = layers::MaxPooling2D({.pool_size = 2, .padding = "same"});
    (*same)(h, false);
    CHECK_FALSE(layers::batch_norm_max_pool_fuses(bn, inference, static_cast<layers::MaxPooling2DLayer&>(*same),
                                                  inference, h));
    CHECK(test::tensor_bytes(layers::batch_norm_then_max_pool(bn, inference, pool, inference, h)) ==
          test::tensor_bytes(pool(bn(h, inference), inference)));
  }
  CHECK_FALSE(layers::batch_norm_max_pool_fuses(bn, inference, pool, inference, h));  // gradients recorded
}

TEST_CASE("an empty batch predicts an empty result, as the layers called in order do", "[model]") {
  Stack s(6, 6, DType::float32);
  const Tensor x = Tensor::zeros({0, 6, 6, 2}, DType::float32);
  const Tensor got = s.model->predict_on_batch(x);
  NoGrad no_grad;
  CHECK(got.shape() == Shape{0, 3, 3, 16});
  CHECK(s.in_order(x, false).shape() == got.shape());
}

TEST_CASE("pools that do not fuse give the layers' own results inside a model", "[model]") {
  for (auto options : {layers::Pooling2DOptions{.pool_size = 3, .strides = 1},
                       layers::Pooling2DOptions{.pool_size = 2, .padding = "same"}}) {
    Stack s(7, 7, DType::float32, options);
    const Tensor x = input({3, 7, 7, 2}, DType::float32, 7);
    const Tensor got = s.model->predict_on_batch(x);
    NoGrad no_grad;
    CHECK(test::tensor_bytes(got) == test::tensor_bytes(s.in_order(x, false)));
  }
}

namespace {

using models::detail::GraphStep;

// Steps for input slot 0 -> conv (slot 1) -> bn (slot 2) -> relu (slot 3) -> pool (slot 4).
struct Chain {
  static std::shared_ptr<layers::Node> node(const layers::LayerPtr& layer) { return test::graph_node(layer); }
  layers::LayerPtr conv = layers::Conv2D({.filters = 1, .kernel_size = 1});
  layers::LayerPtr bn = layers::BatchNormalization();
  layers::LayerPtr relu = layers::Activation({.activation = "relu"});
  layers::LayerPtr pool = layers::MaxPooling2D({.pool_size = 2});
  std::vector<GraphStep> steps = test::chain_steps({conv, bn, relu, pool});
  void run(const std::vector<std::size_t>& outputs) {
    models::detail::reorder_relu_before_max_pool(steps, outputs);
    models::detail::fold_batch_norm_into_max_pool(steps, outputs);
  }
};

class WatchedBatchNorm : public layers::BatchNormalizationLayer {
 public:
  WatchedBatchNorm() : BatchNormalizationLayer({}) {}
};

}  // namespace

TEST_CASE("the batch normalization and max pooling pass rewrites only the pairs it may", "[model]") {
  SECTION("conv, bn, relu, pool: one pooling step reading the conv, with the bn before and the relu after") {
    Chain c;
    c.run({4});
    REQUIRE(c.steps.size() == 2);
    CHECK(c.steps[1].node->layer == c.pool);
    CHECK(c.steps[1].inputs == std::vector<std::size_t>{1});
    CHECK(c.steps[1].before->layer == c.bn);
    CHECK(c.steps[1].then == c.relu);
    CHECK(c.steps[1].output == 4);
  }
  SECTION("a bn whose output another layer reads stays") {
    Chain c;
    c.steps.push_back(GraphStep{.node = c.node(layers::Activation({.activation = "tanh"})), .inputs = {2}, .output = 5});
    c.run({4, 5});
    CHECK(c.steps.size() == 4);
    CHECK_FALSE(c.steps[2].before);
  }
  SECTION("a bn whose output is a model output stays") {
    Chain c;
    c.run({2, 4});
    CHECK(c.steps.size() == 3);
  }
  SECTION("a bn on a model input (which may carry a mask) stays") {
    Chain c;
    c.steps.erase(c.steps.begin());
    c.steps[0].inputs = {0};
    c.steps[0].reads_model_input = true;
    c.run({4});
    CHECK(c.steps.size() == 2);
    CHECK_FALSE(c.steps[1].before);
  }
  SECTION("a subclass of BatchNormalization stays") {
    Chain c;
    c.steps[1].node = c.node(std::make_shared<WatchedBatchNorm>());
    c.run({4});
    CHECK(c.steps.size() == 3);
  }
  SECTION("average pooling does not take a bn") {
    Chain c;
    c.steps[3].node = c.node(layers::AveragePooling2D({.pool_size = 2}));
    c.run({4});
    CHECK(c.steps.size() == 4);
  }
}
