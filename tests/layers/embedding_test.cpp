#include <catch2/catch.hpp>

#include "keel/core/error.h"
#include "keel/layers/dense.h"
#include "keel/layers/embedding.h"
#include "keel/layers/flatten.h"
#include "keel/layers/input.h"
#include "keel/models/sequential.h"
#include "keel/optim/sgd.h"
#include "layer_test_support.h"

using Catch::Matchers::Contains;
using keel::DType;
using keel::Shape;
using keel::Tensor;
namespace layers = keel::layers;
using namespace layer_test;

namespace {

// Table row i is {10 i, 10 i + 1, 10 i + 2}.
std::shared_ptr<layers::EmbeddingLayer> counting_table(std::int64_t rows, bool mask_zero = false) {
  auto embedding = layers::Embedding({.input_dim = rows, .output_dim = 3, .mask_zero = mask_zero});
  embedding->build_from({1, 1});
  std::vector<double> v;
  for (std::int64_t i = 0; i < rows; ++i)
    for (int j = 0; j < 3; ++j) v.push_back(10.0 * double(i) + j);
  embedding->set_weights({Tensor::from_vector(v, {rows, 3})});
  return embedding;
}

}  // namespace

TEST_CASE("Embedding looks up one table row per index", "[layers][embedding]") {
  auto embedding = counting_table(4);
  Tensor y = (*embedding)(Tensor::from_vector({0, 2, 3, 0}, {2, 2}, DType::int64));
  CHECK(y.shape() == Shape{2, 2, 3});
  check_values(y, {0, 1, 2, 20, 21, 22, 30, 31, 32, 0, 1, 2});
  // Whole numbers stored as floats are indices too.
  CHECK((*embedding)(Tensor::from_vector({3, 1}, {2})).to_vector() == std::vector<double>{30, 31, 32, 10, 11, 12});
  CHECK(embedding->compute_output_shape({5, 7}) == Shape{5, 7, 3});
}

TEST_CASE("Embedding's weight is 'embeddings' [input_dim, output_dim], uniform in [-0.05, 0.05]", "[layers][embedding]") {
  auto embedding = layers::Embedding({.input_dim = 50, .output_dim = 8});
  (*embedding)(Tensor::zeros({2, 3}, DType::int64));
  REQUIRE(embedding->weights().size() == 1);
  CHECK(embedding->weights()[0].name() == embedding->name() + "/embeddings");
  CHECK(embedding->embeddings().shape() == Shape{50, 8});
  for (double v : embedding->embeddings().value().to_vector()) CHECK((v >= -0.05 && v <= 0.05));
  CHECK(embedding->get_config()["embeddings_initializer"]["class_name"] == "RandomUniform");
}

TEST_CASE("Embedding's table gradient sums the output gradients of each index's rows", "[layers][embedding]") {
  Float64Scope f64;
  auto embedding = counting_table(5);
  Tensor idx = Tensor::from_vector({1, 3, 1, 1, 0, 3}, {3, 2}, DType::int64);
  Tensor r = uniform({3, 2, 3}, 191);
  for (const auto& w : embedding->trainable_weights()) w.zero_grad();
  keel::backward(keel::ops::sum((*embedding)(idx) * r));
  std::vector<double> want(15, 0.0), rv = r.to_vector(), iv = idx.to_vector();
  for (std::size_t i = 0; i < iv.size(); ++i)
    for (std::size_t j = 0; j < 3; ++j) want[static_cast<std::size_t>(iv[i]) * 3 + j] += rv[i * 3 + j];
  check_values(embedding->embeddings().grad(), want);
  check_weight_gradients(*embedding, idx);
}

TEST_CASE("An SGD step on an Embedding changes only the looked-up rows", "[layers][embedding]") {
  auto embedding = counting_table(6);
  const std::vector<double> before = embedding->embeddings().value().to_vector();
  for (const auto& w : embedding->trainable_weights()) w.zero_grad();
  keel::backward(keel::ops::sum((*embedding)(Tensor::from_vector({4, 1, 4}, {3}, DType::int64), true)));
  keel::optim::SGD sgd({.learning_rate = 0.5});
  sgd.apply(embedding->trainable_weights());
  const std::vector<double> after = embedding->embeddings().value().to_vector();
  for (std::size_t i = 0; i < before.size(); ++i) {
    const std::size_t row = i / 3;
    const double step = row == 4 ? 2 * 0.5 : row == 1 ? 0.5 : 0.0;
    CHECK(after[i] == Approx(before[i] - step));
  }
}

TEST_CASE("Embedding mask_zero masks index 0", "[layers][embedding]") {
  Tensor idx = Tensor::from_vector({0, 2, 0, 1}, {2, 2}, DType::int64);
  Tensor mask = counting_table(3, true)->compute_mask(idx);
  REQUIRE(mask.dtype() == DType::boolean);
  CHECK(mask.to_vector() == std::vector<double>{0, 1, 0, 1});
  CHECK_FALSE(counting_table(3)->compute_mask(idx).defined());
}

TEST_CASE("Embedding config round trip and bad indices and sizes", "[layers][embedding]") {
  auto embedding = layers::Embedding({.input_dim = 7, .output_dim = 2, .mask_zero = true}, "emb_rt");
  auto rebuilt = check_round_trip(embedding, Tensor::from_vector({1, 6, 0}, {3}, DType::int64));
  CHECK(rebuilt->get_config()["input_dim"] == 7);
  CHECK(rebuilt->get_config()["mask_zero"] == true);
  // An activity regularizer sees the looked-up vectors: l2 · Σy² / batch.
  auto table = counting_table(3);
  auto with_activity = layers::Embedding({.input_dim = 3, .output_dim = 3, .activity_regularizer = keel::regularizers::L2{.l2 = 0.5}});
  (*with_activity)(Tensor::from_vector({2}, {1}, DType::int64));
  with_activity->set_weights(table->get_weights());
  (*with_activity)(Tensor::from_vector({2}, {1}, DType::int64), true);
  REQUIRE(with_activity->losses().size() == 1);
  CHECK(with_activity->losses()[0].item() == Approx(0.5 * (400 + 441 + 484)));
  CHECK(layers::EmbeddingLayer::from_config({{"input_dim", 3}, {"output_dim", 2}, {"embeddings_initializer", "uniform"}}));
  REQUIRE_THROWS_WITH((*embedding)(Tensor::from_vector({1, 7}, {2}, DType::int64)),
                      Contains("emb_rt") && Contains("index 7") && Contains("[0, 7)"));
  REQUIRE_THROWS_AS((*embedding)(Tensor::from_vector({-1}, {1}, DType::int64)), keel::IndexError);
  REQUIRE_THROWS_WITH((*embedding)(Tensor::from_vector({1.5}, {1})), Contains("emb_rt") && Contains("1.5"));
  REQUIRE_THROWS_WITH(layers::Embedding({.input_dim = 0, .output_dim = 2}, "emb_zero"),
                      Contains("emb_zero") && Contains("input_dim") && Contains("0"));
  REQUIRE_THROWS_AS(layers::Embedding({.input_dim = 3, .output_dim = -1}), keel::ValueError);
}

TEST_CASE("A Sequential with an Embedding learns a label carried by the first token", "[layers][embedding]") {
  keel::set_random_seed(21);
  // 256 sequences of 4 tokens from a vocabulary of 10, given as float32 whole numbers; label: first token odd.
  std::vector<double> tokens, labels;
  for (int i = 0; i < 256; ++i) {
    for (int t = 0; t < 4; ++t) tokens.push_back(double((i * 7 + t * 3 + i / 10) % 10));
    labels.push_back(double(int(tokens[std::size_t(i) * 4]) % 2));
  }
  Tensor x = Tensor::from_vector(tokens, {256, 4}), y = Tensor::from_vector(labels, {256, 1});
  keel::Sequential model({layers::Input({.shape = {4}}), layers::Embedding({.input_dim = 10, .output_dim = 4}),
                                  layers::Flatten(), layers::Dense({.units = 1, .activation = "sigmoid"})});
  model.compile({.optimizer = "adam", .loss = "binary_crossentropy", .metrics = {"accuracy"}});
  keel::History h = model.fit(x, y, {.batch_size = 32, .epochs = 30, .verbose = 0, .seed = 1});
  CHECK(h.history.at("loss").back() < 0.5 * h.history.at("loss").front());
  CHECK(model.evaluate(x, y)[1] >= 0.99);
}
