#include <catch2/catch.hpp>

#include <algorithm>

#include "keel/autograd/engine.h"
#include "keel/autograd/ops.h"
#include "keel/core/error.h"
#include "keel/core/random.h"
#include "keel/layers/dense.h"
#include "keel/layers/layer.h"
#include "keel/layers/weight_creation_check.h"

using Catch::Matchers::Contains;
using keel::Shape;
using keel::Tensor;
using keel::Variable;
using keel::layers::CallContext;
using keel::layers::Layer;

namespace {

// A user-written layer: a learned per-channel scale, composed from differentiable ops.
class ChannelScale : public Layer {
 public:
  explicit ChannelScale(std::string name = "") : Layer("ChannelScale", std::move(name)) {}
  Variable scale, counter;

 protected:
  void build(const Shape& input_shape) override {
    scale = add_weight("scale", {input_shape.back()}, {.initializer = "ones", .regularizer = keel::regularizers::L2{0.5}});
    counter = add_weight("calls", {}, {.initializer = "zeros", .trainable = false});
    set_input_spec({.min_ndim = 2, .axes = {{-1, input_shape.back()}}});
  }
  Tensor call(const Tensor& x, const CallContext& ctx) override {
    if (ctx.training) update_state(ctx, counter, counter.value() + 1.0);
    return x * scale.value();
  }
};

}  // namespace

TEST_CASE("automatic names are the snake_case class name plus a counter") {
  CHECK(keel::layers::snake_case("BatchNormalization") == "batch_normalization");
  CHECK(keel::layers::snake_case("Conv2D") == "conv2d");
  CHECK(keel::layers::snake_case("GlobalAveragePooling2D") == "global_average_pooling2d");
  ChannelScale a, b;
  CHECK(b.name() == a.name() + "_1");
  REQUIRE_THROWS_AS(ChannelScale("bad/name"), keel::ValueError);
  REQUIRE_THROWS_WITH(ChannelScale("bad/name"), Contains("bad/name") && Contains("'/'"));
}

TEST_CASE("a custom layer builds on first call, trains through autograd and reports its weights") {
  ChannelScale layer("scale");
  CHECK_FALSE(layer.built());
  Tensor x = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor y = layer(x);
  CHECK(layer.built());
  CHECK(layer.built_input_shape() == Shape{2, 3});
  CHECK(y.to_vector() == x.to_vector());
  REQUIRE(layer.weights().size() == 2);
  CHECK(layer.weights()[0].name() == "scale/scale");
  CHECK(layer.trainable_weights().size() == 1);
  CHECK(layer.non_trainable_weights().size() == 1);
  CHECK(layer.count_params() == 4);
  keel::backward(keel::ops::sum(layer(x, true)));
  CHECK(layer.scale.grad().to_vector() == std::vector<double>{5, 7, 9});
  CHECK(layer.counter.value().item() == 1);  // updated at once outside fit
}

TEST_CASE("losses() holds regularizer penalties of trainable weights - a frozen layer adds none") {
  ChannelScale layer;
  layer(Tensor::ones({1, 2}));
  auto losses = layer.losses();
  REQUIRE(losses.size() == 1);
  CHECK(losses[0].item() == Approx(0.5 * 2));  // 0.5 * (1² + 1²)
  layer.set_trainable(false);
  CHECK(layer.losses().empty());
  CHECK(layer.trainable_weights().empty());
  CHECK(layer.non_trainable_weights().size() == 2);
  CHECK(layer.weights()[0].name() == layer.name() + "/scale");  // creation order kept
}

TEST_CASE("an input that does not fit the built layer is a ShapeError naming the layer and both shapes") {
  ChannelScale layer("fit_check");
  layer(Tensor::ones({4, 3}));
  REQUIRE_THROWS_AS(layer(Tensor::ones({4, 5})), keel::ShapeError);
  REQUIRE_THROWS_WITH(layer(Tensor::ones({4, 5})), Contains("fit_check") && Contains("[4, 5]") && Contains("[4, 3]"));
  REQUIRE_THROWS_WITH(layer(Tensor::ones({3})), Contains("rank >= 2"));
}

TEST_CASE("set_weights checks every count and shape before writing anything") {
  ChannelScale layer;
  layer(Tensor::ones({1, 2}));
  auto before = layer.get_weights();
  REQUIRE_THROWS_WITH(layer.set_weights({Tensor::zeros({2})}), Contains("1 arrays for 2 weights"));
  REQUIRE_THROWS_AS(layer.set_weights({Tensor::full({2}, 7), Tensor::zeros({3})}), keel::ShapeError);
  CHECK(layer.get_weights()[0].to_vector() == before[0].to_vector());
  layer.set_weights({Tensor::full({2}, 7), Tensor::full({}, 3)});
  CHECK(layer.get_weights()[0].to_vector() == std::vector<double>{7, 7});
}

TEST_CASE("staged state updates wait for commit") {
  ChannelScale layer;
  keel::layers::StateUpdates staged;
  layer(Tensor::ones({1, 2}), CallContext{.training = true, .staged = &staged});
  CHECK(layer.counter.value().item() == 0);
  REQUIRE(staged.pending.size() == 1);
  staged.commit();
  CHECK(layer.counter.value().item() == 1);
}

TEST_CASE("float inputs are cast to the layer's dtype, and the dtype is fixed once built") {
  ChannelScale layer;
  layer.set_dtype(keel::DType::float64);
  Tensor y = layer(Tensor::ones({1, 2}));
  CHECK(y.dtype() == keel::DType::float64);
  REQUIRE_THROWS_AS(layer.set_dtype(keel::DType::float32), keel::UsageError);
}

TEST_CASE("get_config carries name, trainable and dtype") {
  ChannelScale layer("cfg");
  auto c = layer.serialize();
  CHECK(c["class_name"] == "ChannelScale");
  CHECK(c["config"]["name"] == "cfg");
  CHECK(c["config"]["trainable"] == true);
  CHECK(c["config"]["dtype"] == "float32");
}

TEST_CASE("InitialValues::zeros gives new weights zeros, draws nothing from the global stream, and nests") {
  using keel::layers::InitialValues;
  using keel::layers::ScopedWeightCreationCheck;
  keel::set_random_seed(11);
  const std::uint64_t first_seed = keel::random::next_seed();
  keel::set_random_seed(11);
  auto zeroed = keel::layers::Dense({.units = 3});
  {
    ScopedWeightCreationCheck outer({}, InitialValues::zeros);
    {
      // An inner scope that names no choice restores the initializers, and the outer choice after it.
      ScopedWeightCreationCheck inner({});
      CHECK(keel::layers::initial_weight_values() == InitialValues::from_initializer);
    }
    zeroed->build_from({2, 4});
  }
  CHECK(keel::layers::initial_weight_values() == InitialValues::from_initializer);
  REQUIRE(zeroed->weights().size() == 2);
  for (const Variable& w : zeroed->weights())
    for (double v : w.value().to_vector()) CHECK(v == 0.0);
  // The unseeded glorot_uniform kernel took no seed: the stream is where set_random_seed left it.
  CHECK(keel::random::next_seed() == first_seed);

  auto initialized = keel::layers::Dense({.units = 3});
  initialized->build_from({2, 4});
  const std::vector<double> kernel = initialized->weights()[0].value().to_vector();
  CHECK(std::any_of(kernel.begin(), kernel.end(), [](double v) { return v != 0.0; }));
}

