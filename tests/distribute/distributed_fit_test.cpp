// Two replicas under MpiStrategy against one process on the same global batches: weights, moving
// statistics, losses and metrics match (docs/semantics.md §1.10, docs/distributed.md).
#include "mpi_test_support.h"

using namespace keel;
using keel::test::mpi;

namespace {

using OptimizerFactory = std::function<std::shared_ptr<optim::Optimizer>()>;

// Conv2D -> BN -> ReLU -> Flatten -> Dense -> BN -> ReLU -> Dropout -> Dense: the second BN sees one
// value per channel per sample, so small shares exercise its edge cases.
std::shared_ptr<Sequential> small_convnet(bool synchronized, DType dtype) {
  test::Floatx floatx(dtype);
  return std::make_shared<Sequential>(std::vector<layers::LayerPtr>{
      layers::Input({.shape = {4, 4, 2}}),
      layers::Conv2D({.filters = 3, .kernel_size = 3, .padding = "same"}),
      layers::BatchNormalization({.momentum = 0.8, .synchronized = synchronized}),
      layers::Activation({.activation = "relu"}),
      layers::Flatten({}),
      layers::Dense({.units = 6}),
      layers::BatchNormalization({.momentum = 0.8, .synchronized = synchronized}),
      layers::Activation({.activation = "relu"}),
      layers::Dropout({.rate = 0.25, .seed = 11}),
      layers::Dense({.units = 3}),
  });
}

struct Twins {
  std::shared_ptr<Sequential> distributed, single;
};

// Two copies with the same initial weights, compiled alike.
Twins twins(bool synchronized, DType dtype, const OptimizerFactory& optimizer) {
  set_random_seed(3);
  Twins t{small_convnet(synchronized, dtype), small_convnet(synchronized, dtype)};
  for (auto& m : {t.distributed, t.single})  // compile builds the model from its Input
    m->compile({.optimizer = optimizer(),
                .loss = std::make_shared<losses::SparseCategoricalCrossentropy>(
                    losses::SparseCategoricalCrossentropy::Options{.from_logits = true}),
                .metrics = {"accuracy"}});
  t.single->set_weights(t.distributed->get_weights());
  return t;
}

struct Case {
  bool synchronized = true;
  DType dtype = DType::float64;
  OptimizerFactory optimizer = {};
  std::int64_t samples = 0, batch_size = 0, epochs = 0;
  double tolerance = 0;
};

void check_against_one_process(const Case& c) {
  Tensor x = test::wave({c.samples, 4, 4, 2}, 0.5, c.dtype), y = test::labels(c.samples, 3);
  Twins t = twins(c.synchronized, c.dtype, c.optimizer);
  FitOptions o{.batch_size = c.batch_size, .epochs = c.epochs, .verbose = 0, .seed = 5};
  const std::int64_t calls_before = mpi().all_reduce_stats().calls;
  History got;
  {
    distribute::StrategyScope scope(mpi());
    got = t.distributed->fit(x, y, o);
  }
  History want = t.single->fit(x, y, o);
  test::require_same_weights(*t.distributed, *t.single, c.tolerance);
  CHECK(test::weights_identical_across_ranks(*t.distributed));
  for (const std::string key : {"loss", "accuracy"}) {
    REQUIRE(got.history[key].size() == want.history[key].size());
    for (std::size_t e = 0; e < want.history[key].size(); ++e) {
      INFO(key << " of epoch " << e);
      CHECK(got.history[key][e] == Approx(want.history[key][e]).epsilon(c.tolerance * 10).margin(c.tolerance));
    }
  }
  // One bucket holds every gradient of this small model: one bulk all-reduce per step.
  const std::int64_t steps = c.epochs * ((c.samples + c.batch_size - 1) / c.batch_size);
  CHECK(mpi().all_reduce_stats().calls - calls_before == steps);
}

OptimizerFactory adam() {
  return [] { return std::make_shared<optim::Adam>(optim::Adam::Options{.learning_rate = 0.01}); };
}
OptimizerFactory sgd() {
  return [] { return std::make_shared<optim::SGD>(optim::SGD::Options{.learning_rate = 0.05, .momentum = 0.9}); };
}

}  // namespace

TEST_CASE("Two replicas with synchronized BN train like one process on the global batch", "[mpi]") {
  REQUIRE(mpi().num_replicas() == 2);
  SECTION("float64, Adam, even shares") {
    check_against_one_process({.dtype = DType::float64, .optimizer = adam(), .samples = 24, .batch_size = 8,
                               .epochs = 2, .tolerance = 1e-10});
  }
  SECTION("float32, SGD with momentum, even shares") {
    check_against_one_process({.dtype = DType::float32, .optimizer = sgd(), .samples = 24, .batch_size = 8,
                               .epochs = 2, .tolerance = 1e-5});
  }
  SECTION("float64, Adam: batch 3 splits 2 + 1 (one value per channel on rank 1), last batch 1 + 0") {
    check_against_one_process({.dtype = DType::float64, .optimizer = adam(), .samples = 13, .batch_size = 3,
                               .epochs = 2, .tolerance = 1e-10});
  }
  SECTION("float32, SGD: batch 5 splits 3 + 2, uneven last batch of 2 splits 1 + 1") {
    check_against_one_process({.dtype = DType::float32, .optimizer = sgd(), .samples = 12, .batch_size = 5,
                               .epochs = 2, .tolerance = 1e-5});
  }
}

TEST_CASE("Evaluate and predict under two replicas equal one process", "[mpi]") {
  Tensor x = test::wave({11, 4, 4, 2}, 0.5, DType::float64), y = test::labels(11, 3);
  Twins t = twins(true, DType::float64, adam());
  t.single->fit(x, y, {.batch_size = 4, .epochs = 1, .verbose = 0, .seed = 2});
  t.distributed->set_weights(t.single->get_weights());
  std::vector<double> want = t.single->evaluate(x, y, {.batch_size = 4});
  Tensor want_pred = t.single->predict(x, {.batch_size = 3});
  distribute::StrategyScope scope(mpi());
  std::vector<double> got = t.distributed->evaluate(x, y, {.batch_size = 4});
  Tensor got_pred = t.distributed->predict(x, {.batch_size = 3});
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i) CHECK(got[i] == Approx(want[i]).epsilon(1e-12));
  REQUIRE(got_pred.shape() == want_pred.shape());
  CHECK(test::relative_error(got_pred, want_pred) <= 1e-12);
}

TEST_CASE("Unsynchronized BN normalizes each replica with its own statistics and averages the moving ones",
          "[mpi]") {
  // Global batch {1, 3, 10}: rank 0 holds {1, 3} (mean 2, variance 1), rank 1 holds {10} (one value:
  // variance 0, output beta). Synchronized, both use the global mean 14/3 and variance 402/27.
  const bool rank0 = mpi().rank() == 0;
  Tensor x = Tensor::from_vector(rank0 ? std::vector<double>{1, 3} : std::vector<double>{10}, {rank0 ? 2 : 1, 1},
                                 DType::float64);
  const double eps = 1e-3;
  for (bool synchronized : {false, true}) {
    auto bn = layers::BatchNormalization({.synchronized = synchronized});
    bn->set_dtype(DType::float64);
    ReplicaContextScope replica(&mpi());
    std::vector<double> y = (*bn)(x, true).to_vector();
    std::vector<double> want;
    if (!synchronized) want = rank0 ? std::vector<double>{-1 / std::sqrt(1 + eps), 1 / std::sqrt(1 + eps)}
                                    : std::vector<double>{0.0};
    else
      for (double v : x.to_vector()) want.push_back((v - 14.0 / 3) / std::sqrt(402.0 / 27 + eps));
    INFO("synchronized " << synchronized << ", rank " << mpi().rank());
    REQUIRE(y.size() == want.size());
    for (std::size_t i = 0; i < y.size(); ++i) CHECK(y[i] == Approx(want[i]).epsilon(1e-12));
  }

  SECTION("fit averages the moving statistics weighted by sample counts") {
    // momentum 0.5 from (0, 1): rank 0 moves to mean 1, variance 1; rank 1 to mean 5, variance 0.5.
    // Weighted by 2 and 1 samples: mean 7/3, variance 5/6 (synchronized it would be 0.5 + 201/27).
    for (bool synchronized : {false, true}) {
      test::Floatx floatx(DType::float64);
      auto model = std::make_shared<Sequential>(std::vector<layers::LayerPtr>{
          layers::Input({.shape = {1}}), layers::BatchNormalization({.momentum = 0.5, .synchronized = synchronized}),
          layers::Dense({.units = 1})});
      model->compile({.optimizer = "sgd", .loss = "mse"});
      Tensor xs = Tensor::from_vector({1, 3, 10}, {3, 1}, DType::float64), ys = Tensor::zeros({3, 1}, DType::float64);
      distribute::StrategyScope scope(mpi());
      model->fit(xs, ys, {.batch_size = 3, .epochs = 1, .verbose = 0, .shuffle = false});
      auto bn = std::dynamic_pointer_cast<layers::BatchNormalizationLayer>(model->layers()[0]);
      REQUIRE(bn);
      INFO("synchronized " << synchronized);
      CHECK(bn->moving_mean().value().item() == Approx(7.0 / 3).epsilon(1e-12));
      CHECK(bn->moving_variance().value().item() == Approx(synchronized ? 0.5 + 201.0 / 27 : 5.0 / 6).epsilon(1e-12));
    }
  }
}

TEST_CASE("A model with two inputs and two outputs trains under two replicas like one process", "[mpi]") {
  auto make = [] {
    test::Floatx floatx(DType::float64);
    auto a = keel::Input({.shape = {3}, .name = "a"});
    auto b = keel::Input({.shape = {2}, .name = "b"});
    auto joined = layers::Concatenate({})({layers::Dense({.units = 4, .activation = "tanh"})(a), b});
    auto reg = layers::Dense({.units = 2}, "reg")(joined);
    auto cls = layers::Dense({.units = 3}, "cls")(joined);
    auto model = Model::functional({a, b}, {reg, cls}, "two_by_two");
    model->compile({.optimizer = "sgd",
                    .loss = {{"reg", "mse"},
                             {"cls", std::make_shared<losses::SparseCategoricalCrossentropy>(
                                         losses::SparseCategoricalCrossentropy::Options{.from_logits = true})}},
                    .loss_weights = {0.5, 2.0},
                    .metrics = {"mae", "accuracy"}});
    return model;
  };
  set_random_seed(7);
  auto distributed = make(), single = make();
  single->set_weights(distributed->get_weights());
  const std::int64_t n = 13;
  Tensor xa = test::wave({n, 3}, 0.4, DType::float64), xb = test::wave({n, 2}, 0.7, DType::float64);
  Tensor y_reg = test::wave({n, 2}, 0.3, DType::float64), y_cls = test::labels(n, 3);
  FitOptions o{.batch_size = 5, .epochs = 2, .verbose = 0, .sample_weight = test::wave({n}, 0.9, DType::float64) + 2.0,
               .seed = 4};
  History got;
  {
    distribute::StrategyScope scope(mpi());
    got = distributed->fit({xa, xb}, {y_reg, y_cls}, o);
  }
  History want = single->fit({xa, xb}, {y_reg, y_cls}, o);
  test::require_same_weights(*distributed, *single, 1e-12);
  REQUIRE(got.history.size() == want.history.size());
  for (const auto& [key, values] : want.history) {
    INFO(key);
    REQUIRE(got.history[key].size() == values.size());
    for (std::size_t e = 0; e < values.size(); ++e) CHECK(got.history[key][e] == Approx(values[e]).epsilon(1e-12));
  }
  CHECK(want.history.count("cls_loss") == 1);
  std::vector<double> want_eval = single->evaluate({xa, xb}, {y_reg, y_cls}, {.batch_size = 4});
  std::vector<Tensor> want_pred = single->predict_all({xa, xb}, {.batch_size = 3});
  distribute::StrategyScope scope(mpi());
  std::vector<double> got_eval = distributed->evaluate({xa, xb}, {y_reg, y_cls}, {.batch_size = 4});
  std::vector<Tensor> got_pred = distributed->predict_all({xa, xb}, {.batch_size = 3});
  REQUIRE(got_eval.size() == want_eval.size());
  for (std::size_t i = 0; i < got_eval.size(); ++i) CHECK(got_eval[i] == Approx(want_eval[i]).epsilon(1e-12));
  REQUIRE(got_pred.size() == 2);
  for (std::size_t i = 0; i < 2; ++i) CHECK(test::relative_error(got_pred[i], want_pred[i]) <= 1e-12);
}
