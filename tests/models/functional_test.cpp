// Functional models: graphs of layer calls against the same computation written with ops, shared layers,
// nested models and their training override, trainable propagation, config and file round trips, and
// the errors a badly wired graph gets.
#include <catch2/catch.hpp>

#include <sstream>

#include "keel/autograd/engine.h"
#include "keel/autograd/grad_mode.h"
#include "keel/autograd/ops.h"
#include "keel/core/error.h"
#include "keel/core/parallel.h"
#include "keel/core/random.h"
#include "keel/layers/activation_layer.h"
#include "keel/layers/batch_normalization.h"
#include "keel/layers/dense.h"
#include "keel/layers/merging.h"
#include "keel/layers/registry.h"
#include "keel/models/functional.h"
#include "keel/models/losses.h"
#include "keel/models/saving.h"
#include "keel/optim/adam.h"
#include "support/floatx.h"
#include "support/make_tensor.h"
#include "support/temp_dir.h"
#include "support/throws.h"

using Catch::Matchers::Contains;
using namespace keel;

namespace {

void require_close(const Tensor& got, const Tensor& want, double tolerance) {
  REQUIRE(got.shape() == want.shape());
  auto g = got.to_vector(), w = want.to_vector();
  for (std::size_t i = 0; i < g.size(); ++i) CHECK(g[i] == Approx(w[i]).epsilon(tolerance).margin(tolerance));
}

// x -> d1 -> (relu -> d2) + d1 -> d3: one residual connection.
layers::Ref<Functional> residual_model() {
  test::Floatx floatx(DType::float64);
  auto in = keel::Input({.shape = {3}, .dtype = DType::float64, .name = "x"});
  auto h = layers::Dense({.units = 4}, "d1")(in);
  auto y = layers::Dense({.units = 4}, "d2")(layers::Activation({.activation = "relu"}, "relu")(h));
  auto sum = layers::Add({}, "add")({h, y});
  return Model::functional(in, layers::Dense({.units = 2}, "d3")(sum), "residual");
}

// The same computation with ops on the given weights [W1, b1, W2, b2, W3, b3].
Tensor residual_by_hand(const Tensor& x, const std::vector<Tensor>& w) {
  Tensor h = ops::linear(x, w[0], w[1]);
  Tensor y = ops::linear(ops::relu(h), w[2], w[3]);
  return ops::linear(h + y, w[4], w[5]);
}

Tensor inputs() { return test::f64({0.5, -1.0, 2.0, -0.25, 0.75, 1.5, 1.0, 0.0, -2.0, 0.3, -0.6, 0.9}, {4, 3}); }
Tensor targets() { return test::f64({1, -1, 0.5, 0, -0.5, 2, 0.25, 0.75}, {4, 2}); }

}  // namespace

TEST_CASE("a residual graph's forward, gradients and one Adam step equal the same model written with ops",
          "[functional]") {
  set_random_seed(4);
  auto model = residual_model();
  model->compile({.optimizer = std::make_shared<optim::Adam>(optim::Adam::Options{.learning_rate = 0.01}), .loss = "mse"});
  std::vector<Tensor> start = model->get_weights();
  REQUIRE(start.size() == 6);

  require_close(model->predict(inputs()), residual_by_hand(inputs(), start), 1e-12);

  std::vector<Variable> hand;
  for (std::size_t i = 0; i < start.size(); ++i) hand.emplace_back(std::string(1, static_cast<char>('a' + i)), start[i].clone(), true);
  std::vector<Tensor> hand_values;
  for (const auto& v : hand) hand_values.push_back(v.value());
  Tensor loss = ops::mean(ops::square(residual_by_hand(inputs(), hand_values) - targets()));
  backward(loss);

  const double reported = model->train_on_batch(inputs(), targets())[0];
  CHECK(reported == Approx(loss.item()).epsilon(1e-12));
  std::vector<Variable> trained = model->trainable_weights();
  for (std::size_t i = 0; i < hand.size(); ++i) {
    INFO("weight " << i);
    require_close(trained[i].grad(), hand[i].grad(), 1e-12);
  }
  optim::Adam adam({.learning_rate = 0.01});
  adam.apply(hand);
  std::vector<Tensor> after = model->get_weights();
  for (std::size_t i = 0; i < hand.size(); ++i) require_close(after[i], hand[i].value(), 1e-12);
}

TEST_CASE("a functional model trains the same bits on 1 and 2 threads", "[functional]") {
  auto run = [](int threads) {
    set_num_threads(threads);
    set_random_seed(9);
    auto model = residual_model();
    model->compile({.optimizer = "adam", .loss = "mse"});
    model->fit(inputs(), targets(), {.batch_size = 2, .epochs = 3, .verbose = 0, .seed = 1});
    return model->get_weights();
  };
  auto one = run(1), two = run(2);
  set_num_threads(0);
  for (std::size_t i = 0; i < one.size(); ++i) CHECK(one[i].to_vector() == two[i].to_vector());
}

TEST_CASE("layers() lists every layer from the inputs to the outputs, InputLayer included", "[functional]") {
  auto model = residual_model();
  std::vector<std::string> names;
  for (const auto& layer : model->layers()) names.push_back(layer->name());
  CHECK(names == std::vector<std::string>{"x", "d1", "relu", "d2", "add", "d3"});
  CHECK(model->get_layer("d2")->class_name() == "Dense");
  KEEL_CHECK_THROWS(model->get_layer("nope"), ValueError, Contains("no layer named 'nope'") && Contains("d1, relu"));
  CHECK(model->outputs()[0].shape() == Shape{-1, 2});
  CHECK(model->inputs()[0].shape() == Shape{-1, 3});
}

TEST_CASE("output_of gives a layer's output in the model, to build a model from part of it", "[functional]") {
  auto model = residual_model();
  SymbolicTensor sum = model->output_of("add");
  CHECK(sum.shape() == Shape{-1, 4});
  auto base = Model::functional(model->inputs(), {sum}, "base");
  CHECK(base->weights().size() == 4);  // d1 and d2, shared with the model
  CHECK(base->get_layer("d1") == model->get_layer("d1"));
  // The base computes h + y of residual_by_hand: the model's last Dense applied to it gives the model's output.
  const std::vector<Tensor> w = [&] {
    std::vector<Tensor> v;
    for (const auto& var : model->weights()) v.push_back(var.value());
    return v;
  }();
  Tensor h = ops::linear(inputs(), w[0], w[1]);
  require_close((*base)(inputs(), false), h + ops::linear(ops::relu(h), w[2], w[3]), 1e-12);
  CHECK(model->output_of("x").node() == model->inputs()[0].node());
  KEEL_CHECK_THROWS(model->output_of("nope"), ValueError, Contains("no layer named 'nope'"));

  auto in = keel::Input({.shape = {2}});
  auto shared = layers::Dense({.units = 2}, "twice");
  auto twice = Model::functional(in, shared(shared(in)));
  KEEL_CHECK_THROWS(twice->output_of("twice"), ValueError, Contains("'twice' is called more than once"));
}

TEST_CASE("a shared layer keeps one set of weights and sums its gradients over its calls", "[functional]") {
  // y = d(a) + d(b) with one Dense d (kernel w [2, 1], no bias): dy/dw = a + b.
  auto a = keel::Input({.shape = {2}, .dtype = DType::float64});
  auto b = keel::Input({.shape = {2}, .dtype = DType::float64});
  auto shared = layers::Dense({.units = 1, .use_bias = false, .kernel_initializer = "ones",
                               .activity_regularizer = "l1"});
  auto model = Model::functional({a, b}, {layers::Add({})({shared(a), shared(b)})});
  CHECK(model->weights().size() == 1);
  Tensor xa = test::f64({1, 2}, {1, 2}), xb = test::f64({3, -5}, {1, 2});
  Tensor y = model->call_all({xa, xb}, {.training = true})[0];
  CHECK(y.item() == Approx(1 + 2 + 3 - 5));
  // Both calls' activity penalties (l1 = 0.01·|output| per sample): 0.01·3 and 0.01·2.
  auto penalties = model->losses();
  REQUIRE(penalties.size() == 2);
  CHECK(penalties[0].item() + penalties[1].item() == Approx(0.01 * 3 + 0.01 * 2));
  backward(ops::sum(y));
  CHECK(model->trainable_weights()[0].grad().to_vector() == std::vector<double>{4, -3});
}

TEST_CASE("a nested model called with training = false keeps its BatchNormalization in inference mode",
          "[functional]") {
  test::Floatx floatx(DType::float64);
  auto base_in = keel::Input({.shape = {2}});
  auto bn = layers::BatchNormalization({}, "bn");
  auto base = Model::functional(base_in, bn(layers::Dense({.units = 2}, "base_dense")(base_in)), "base");
  auto in = keel::Input({.shape = {2}});
  auto out = layers::Dense({.units = 1}, "head")(base(in, {.training = false}));
  auto model = Model::functional(in, out, "fine_tune");
  model->compile({.optimizer = "sgd", .loss = "mse"});
  std::vector<double> mean_before = bn->moving_mean().value().to_vector();
  Tensor base_kernel = base->get_layer("base_dense")->weights()[0].value().clone();
  model->fit(test::f64({1, 2, 3, 4, 5, 6}, {3, 2}), test::f64({1, 0, 1}, {3, 1}), {.epochs = 2, .verbose = 0});
  CHECK(bn->moving_mean().value().to_vector() == mean_before);  // inference mode: no update
  CHECK(base->get_layer("base_dense")->weights()[0].value().to_vector() != base_kernel.to_vector());  // still trains

  SECTION("and trainable = false on the outer model reaches every layer inside") {
    model->set_trainable(false);
    for (const auto& layer : base->layers()) CHECK_FALSE(layer->trainable());
    CHECK(model->trainable_weights().empty());
  }
}

TEST_CASE("get_config and from_config rebuild the graph, nested models and training overrides included",
          "[functional]") {
  set_random_seed(2);
  test::Floatx floatx(DType::float64);
  auto base_in = keel::Input({.shape = {3}});
  auto base = Model::functional(base_in, layers::Dense({.units = 3}, "inner")(base_in), "base");
  auto in = keel::Input({.shape = {3}, .name = "in"});
  auto h = base(in, {.training = false});
  auto sum = layers::Add({})({h, in});
  auto model = Model::functional(in, layers::Dense({.units = 2}, "out")(sum), "outer");

  nlohmann::json config = model->get_config();
  CHECK(config["input_layers"] == nlohmann::json::parse(R"([["in", 0, 0]])"));
  CHECK(config["output_layers"] == nlohmann::json::parse(R"([["out", 0, 0]])"));
  const auto& base_entry = config["layers"][1];
  CHECK(base_entry["class_name"] == "Functional");
  CHECK(base_entry["inbound_nodes"][0]["kwargs"]["training"] == false);
  CHECK(base_entry["inbound_nodes"][0]["args"][0]["config"]["keras_history"] == nlohmann::json::parse(R"(["in", 0, 0])"));

  auto rebuilt = std::dynamic_pointer_cast<Functional>(layers::deserialize(model->serialize()));
  REQUIRE(rebuilt);
  CHECK(rebuilt->get_config() == config);
  rebuilt->set_weights(model->get_weights());
  Tensor x = test::f64({1, 2, 3, -1, 0, 4}, {2, 3});
  CHECK(rebuilt->predict(x).to_vector() == model->predict(x).to_vector());

  SECTION("through a file") {
    test::TempDir dir("functional");
    model->compile({.optimizer = "adam", .loss = "mse"});
    model->fit(x, test::f64({1, 2, 3, 4}, {2, 2}), {.epochs = 1, .verbose = 0});
    model->save(dir.path() / "m.keel");
    auto loaded = load_model(dir.path() / "m.keel");
    CHECK(loaded->class_name() == "Functional");
    CHECK(loaded->predict(x).to_vector() == model->predict(x).to_vector());
    CHECK(structural_weights(*loaded)[0].first == "layers/1/layers/1/kernel");  // Input first, then the base's Dense
  }
}

TEST_CASE("from_config reads Keras 2's inbound_nodes lists", "[functional]") {
  auto model = residual_model();
  nlohmann::json config = model->get_config();
  for (auto& layer : config["layers"]) {
    nlohmann::json nodes = nlohmann::json::array();
    for (const auto& node : layer["inbound_nodes"]) {
      nlohmann::json keras2 = nlohmann::json::array();
      const auto& args = node["args"][0].is_array() ? node["args"][0] : node["args"];
      for (const auto& t : args) {
        auto history = t["config"]["keras_history"];
        keras2.push_back({history[0], history[1], history[2], nlohmann::json::object()});
      }
      nodes.push_back(keras2);
    }
    layer["inbound_nodes"] = nodes;
  }
  auto rebuilt = Functional::from_config(config);
  rebuilt->set_weights(model->get_weights());
  CHECK(rebuilt->predict(inputs()).to_vector() == model->predict(inputs()).to_vector());
}

TEST_CASE("badly wired graphs are refused with errors that name the problem", "[functional]") {
  auto a = keel::Input({.shape = {3}, .name = "a"});
  auto b = keel::Input({.shape = {4}, .name = "b"});
  auto from_b = layers::Dense({.units = 2}, "from_b")(b);
  KEEL_CHECK_THROWS(Model::functional(a, from_b), ValueError,
                    Contains("disconnected") && Contains("InputLayer 'b'"));
  KEEL_CHECK_THROWS(Model::functional({a, b}, {layers::Dense({.units = 2})(a)}), ValueError,
                    Contains("input 'b' is not connected to any output"));
  KEEL_CHECK_THROWS(layers::Add({}, "sum")({a, b}), ValueError,
                    Contains("Add 'sum' cannot be called on (None, 3) and (None, 4)") &&
                        Contains("sizes 3 and 4 do not broadcast"));
  KEEL_CHECK_THROWS(Model::functional(from_b, from_b), ValueError, Contains("model inputs must come from keel::Input"));

  nlohmann::json config = residual_model()->get_config();
  config["layers"][1]["inbound_nodes"][0]["args"][0]["config"]["keras_history"][0] = "d3";  // d1 <- d3 <- ... <- d1
  KEEL_CHECK_THROWS(Functional::from_config(config), ValueError, Contains("never exist (a cycle or a missing call)"));
}

TEST_CASE("summary of a graph has Keras's Connected to column, and options expand_nested and show_trainable", "[functional]") {
  auto model = residual_model();
  std::ostringstream out;
  model->summary(out);
  const std::string text = out.str();
  CHECK_THAT(text, Contains("┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃ Connected to"));
  CHECK_THAT(text, Contains("│ x (InputLayer)                  │ (None, 3)              │             0 │ -"));
  CHECK_THAT(text, Contains("│ add (Add)                       │ (None, 4)              │             0 │ d1[0][0], d2[0][0]"));
  CHECK_THAT(text, Contains("│ d3 (Dense)                      │ (None, 2)              │            10 │ add[0][0]"));
  // d1: 3·4 + 4 = 16, d2: 4·4 + 4 = 20, d3: 4·2 + 2 = 10.
  CHECK_THAT(text, Contains(" Total params: 46 ("));

  auto in = keel::Input({.shape = {3}, .dtype = DType::float64});
  auto outer = Model::functional(in, layers::Dense({.units = 1}, "head")((*model)(in)), "outer");
  model->get_layer("d1")->set_trainable(false);
  std::ostringstream nested;
  outer->summary(nested, {.expand_nested = true, .show_trainable = true});
  CHECK_THAT(nested.str(), Contains("│ residual (Functional)"));
  CHECK_THAT(nested.str(), Contains("│   d1 (Dense)"));
  CHECK_THAT(nested.str(), Contains("│ N         │"));
  CHECK_THAT(nested.str(), Contains("│ Y         │"));
}
