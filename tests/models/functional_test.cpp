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
#include "keel/layers/conv1d.h"
#include "keel/layers/conv2d.h"
#include "keel/layers/conv2d_transpose.h"
#include "keel/layers/dense.h"
#include "keel/layers/embedding.h"
#include "keel/layers/flatten.h"
#include "keel/layers/global_pooling1d.h"
#include "keel/layers/global_pooling2d.h"
#include "keel/layers/merging.h"
#include "keel/layers/registry.h"
#include "keel/models/functional.h"
#include "keel/models/losses.h"
#include "keel/models/saving.h"
#include "keel/models/sequential.h"
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

namespace {

// Conv2D (same) -> BN -> ReLU -> Conv2D (valid, stride 2) -> global average pooling -> Dense, on images
// of the given per-sample shape: with free sizes, a fully convolutional model.
layers::Ref<Functional> fully_convolutional(const Shape& image_shape) {
  auto in = keel::Input({.shape = image_shape, .dtype = DType::float64, .name = "image"});
  auto x = layers::Conv2D({.filters = 4, .kernel_size = 3, .padding = "same"}, "conv")(in);
  x = layers::Activation({.activation = "relu"}, "relu")(layers::BatchNormalization({}, "bn")(x));
  x = layers::Conv2D({.filters = 4, .kernel_size = 3, .strides = 2}, "conv_2")(x);
  auto out = layers::Dense({.units = 3}, "dense")(layers::GlobalAveragePooling2D({}, "gap")(x));
  return Model::functional(in, out, "fcn");
}

layers::Ref<Functional> trained_fully_convolutional() {
  test::Floatx floatx(DType::float64);
  set_random_seed(5);
  auto model = fully_convolutional({-1, -1, 3});
  model->compile({.optimizer = "adam", .loss = "mse"});
  model->fit(random::normal({4, 12, 10, 3}, 0, 1, 6, DType::float64), random::normal({4, 3}, 0, 1, 7, DType::float64),
             {.batch_size = 2, .epochs = 1, .verbose = 0, .shuffle = false});
  return model;
}

}  // namespace

TEST_CASE("an Input with free sizes gives a fully convolutional model that takes any image size",
          "[functional][free]") {
  test::Floatx floatx(DType::float64);
  set_random_seed(3);
  auto model = fully_convolutional({-1, -1, 3});
  CHECK(model->inputs()[0].shape() == Shape{-1, -1, -1, 3});
  CHECK(model->output_of("conv").shape() == Shape{-1, -1, -1, 4});
  CHECK(model->output_of("conv_2").shape() == Shape{-1, -1, -1, 4});
  CHECK(model->output_of("gap").shape() == Shape{-1, 4});
  CHECK(model->outputs()[0].shape() == Shape{-1, 3});
  // Weights from the known sizes only: conv 3·3·3·4 + 4, bn 4·4, conv_2 3·3·4·4 + 4, dense 4·3 + 3.
  CHECK(model->count_params() == 112 + 16 + 148 + 15);

  std::ostringstream summary;
  model->summary(summary);
  CHECK_THAT(summary.str(), Contains("(None, None, None, 3)"));
  CHECK_THAT(summary.str(), Contains("(None, None, None, 4)"));

  for (Shape size : {Shape{28, 28}, Shape{32, 40}}) {
    auto twin = fully_convolutional({size[0], size[1], 3});
    twin->set_weights(model->get_weights());
    const Tensor images = random::normal({2, size[0], size[1], 3}, 0, 1, 4, DType::float64);
    const Tensor got = model->predict(images);
    CHECK(got.shape() == Shape{2, 3});
    require_close(got, twin->predict(images), 1e-12);
  }
}

TEST_CASE("a model with free sizes trains on one size as its fixed-size twin does", "[functional][free]") {
  test::Floatx floatx(DType::float64);
  set_random_seed(8);
  auto model = fully_convolutional({-1, -1, 3});
  auto twin = fully_convolutional({12, 10, 3});
  twin->set_weights(model->get_weights());
  const Tensor x = random::normal({4, 12, 10, 3}, 0, 1, 9, DType::float64);
  const Tensor y = random::normal({4, 3}, 0, 1, 10, DType::float64);
  for (auto& m : {model, twin}) {
    m->compile({.optimizer = "adam", .loss = "mse"});
    m->fit(x, y, {.batch_size = 2, .epochs = 2, .verbose = 0, .shuffle = false});
  }
  const auto trained = model->get_weights(), want = twin->get_weights();
  REQUIRE(trained.size() == want.size());
  for (std::size_t i = 0; i < trained.size(); ++i) require_close(trained[i], want[i], 1e-12);
  CHECK(model->predict(random::normal({1, 20, 16, 3}, 0, 1, 11, DType::float64)).shape() == Shape{1, 3});
}

namespace {

// Makes a weight of a known size, then one sized by the input's last axis.
class KnownThenFree : public layers::Layer {
 public:
  KnownThenFree() : Layer("KnownThenFree", "") {}

 protected:
  void build(const Shape& input_shape) override {
    add_weight("scale", {2});
    add_weight("kernel", {input_shape.back(), 2});
  }
  Tensor call(const Tensor& x, const layers::CallContext&) override { return x; }
};

}  // namespace

TEST_CASE("a layer whose weights need a free size is refused, naming the layer and the shape", "[functional][free]") {
  auto sequence = keel::Input({.shape = {-1}});
  auto head = layers::Dense({.units = 2}, "head");
  KEEL_CHECK_THROWS(head(sequence), ValueError,
                    Contains("Dense 'head' cannot be called on (None, None)") && Contains("weight 'kernel'") &&
                        Contains("(None, 2)") && Contains("free (None)"));
  CHECK_FALSE(head->built());
  CHECK(head->weights().empty());

  // The weights made before the refused one are dropped: the layer is as it was.
  auto layer = std::make_shared<KnownThenFree>();
  KEEL_CHECK_THROWS((*layer)(sequence), ValueError, Contains("weight 'kernel'"));
  CHECK_FALSE(layer->built());
  CHECK(layer->weights().empty());
  (*layer)(Tensor::zeros({1, 3}));
  CHECK(layer->weights().size() == 2);

  auto image = keel::Input({.shape = {-1, -1, 3}});
  auto flat = layers::Flatten({}, "flatten")(image);
  CHECK(flat.shape() == Shape{-1, -1});
  KEEL_CHECK_THROWS(layers::Dense({.units = 2}, "after_flatten")(flat), ValueError,
                    Contains("Dense 'after_flatten' cannot be called on (None, None)"));

  auto channels = keel::Input({.shape = {8, 8, -1}});
  KEEL_CHECK_THROWS(layers::Conv2D({.filters = 2, .kernel_size = 3}, "c")(channels), ValueError,
                    Contains("Conv2D 'c' cannot be called on (None, 8, 8, None)") && Contains("weight 'kernel'"));

  // Five free sizes would trace a 64^5-element sample.
  KEEL_CHECK_THROWS(keel::Input({.shape = {-1, -1, -1, -1, -1}, .name = "volume"}), ValueError,
                    Contains("Input 'volume'") && Contains("too many free sizes"));

  // A free size is traced at two sizes; a layer that cannot take them says so.
  auto wide = layers::Conv2D({.filters = 2, .kernel_size = 40}, "wide");
  KEEL_CHECK_THROWS(wide(image), ShapeError,
                    Contains("Conv2D 'wide' cannot be called on (None, None, None, 3)") &&
                        Contains("free sizes are traced as 32 and 64"));
  CHECK_FALSE(wide->built());
  CHECK(wide->weights().empty());
}

namespace {

// The model rebuilt from its config and loaded from a .keel file, each checked to predict `x` as the model does.
std::vector<std::shared_ptr<Functional>> config_and_file_copies(const std::shared_ptr<Functional>& model,
                                                                const Tensor& x) {
  const nlohmann::json config = model->get_config();
  auto rebuilt = Functional::from_config(config);
  CHECK(rebuilt->get_config() == config);
  rebuilt->set_weights(model->get_weights());
  CHECK(rebuilt->predict(x).to_vector() == model->predict(x).to_vector());

  test::TempDir dir("functional_copies");
  model->save(dir.path() / "model.keel");
  auto loaded = std::dynamic_pointer_cast<Functional>(load_model(dir.path() / "model.keel"));
  REQUIRE(loaded);
  CHECK(loaded->predict(x).to_vector() == model->predict(x).to_vector());
  return {rebuilt, loaded};
}

}  // namespace

TEST_CASE("a model with free sizes keeps them through get_config, from_config and a .keel file",
          "[functional][free]") {
  auto model = trained_fully_convolutional();
  test::Floatx floatx(DType::float64);
  nlohmann::json config = model->get_config();
  CHECK(config["layers"][0]["config"]["shape"] == nlohmann::json::parse("[-1, -1, 3]"));
  CHECK(config["layers"][1]["inbound_nodes"][0]["args"][0]["config"]["shape"] ==
        nlohmann::json::parse("[null, null, null, 3]"));
  const Tensor images = random::normal({2, 32, 40, 3}, 0, 1, 12, DType::float64);
  for (const auto& copy : config_and_file_copies(model, images))
    CHECK(copy->inputs()[0].shape() == Shape{-1, -1, -1, 3});
}

TEST_CASE("an int64 Input feeding an Embedding keeps its dtype through configs and .keel files", "[functional]") {
  set_random_seed(13);
  auto tokens = keel::Input({.shape = {8}, .dtype = DType::int64, .name = "tokens"});
  auto pooled = layers::GlobalAveragePooling1D({})(layers::Embedding({.input_dim = 10, .output_dim = 4})(tokens));
  auto model = Model::functional(tokens, layers::Dense({.units = 1})(pooled), "bag_of_words");
  CHECK(model->inputs()[0].dtype() == DType::int64);
  nlohmann::json config = model->get_config();
  CHECK(config["layers"][0]["config"]["dtype"] == "int64");
  CHECK(config["layers"][1]["inbound_nodes"][0]["args"][0]["config"]["dtype"] == "int64");
  const Tensor x = test::i64({1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 9, 0, 9, 0, 9, 0}, {2, 8});
  for (const auto& copy : config_and_file_copies(model, x)) CHECK(copy->inputs()[0].dtype() == DType::int64);
}

TEST_CASE("a Sequential called on free sizes inside a functional model keeps them through its config",
          "[functional][free]") {
  test::Floatx floatx(DType::float64);
  set_random_seed(14);
  auto block = std::make_shared<Sequential>(
      std::vector<layers::LayerPtr>{layers::Conv2D({.filters = 2, .kernel_size = 3, .padding = "same"}, "block_conv")},
      "block");
  auto in = keel::Input({.shape = {-1, -1, 3}});
  auto model = Model::functional(in, layers::GlobalAveragePooling2D({}, "gap")((*block)(in)), "outer");
  CHECK(model->output_of("block").shape() == Shape{-1, -1, -1, 2});

  auto rebuilt = std::dynamic_pointer_cast<Functional>(layers::deserialize(model->serialize()));
  REQUIRE(rebuilt);
  CHECK(rebuilt->get_config() == model->get_config());
  rebuilt->set_weights(model->get_weights());
  const Tensor images = random::normal({2, 5, 7, 3}, 0, 1, 15, DType::float64);
  CHECK(rebuilt->predict(images).to_vector() == model->predict(images).to_vector());
}

TEST_CASE("Conv1D and Conv2DTranspose keep a free size free", "[functional][free]") {
  auto steps = keel::Input({.shape = {-1, 2}});
  auto conv = layers::Conv1D({.filters = 3, .kernel_size = 3}, "conv1d")(steps);
  CHECK(conv.shape() == Shape{-1, -1, 3});
  auto images = keel::Input({.shape = {-1, 6, 2}});
  auto up = layers::Conv2DTranspose({.filters = 3, .kernel_size = 3, .strides = 2, .padding = "same"}, "up")(images);
  // "same" with stride 2: each known size doubles (6 -> 12).
  CHECK(up.shape() == Shape{-1, -1, 12, 3});
  auto model = Model::functional(images, up, "upsampler");
  CHECK(model->predict(Tensor::zeros({1, 5, 6, 2})).shape() == Shape{1, 10, 12, 3});
}
