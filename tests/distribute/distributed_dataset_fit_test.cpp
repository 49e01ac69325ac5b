// fit and evaluate on a data::Dataset under two replicas (models/dataset_training.cpp,
// models/detail/dataset_epoch_iterator.cpp): each replica maps only its share of every global batch, and
// weights, losses and metrics equal one process on the same batches.
#include <atomic>

#include "mpi_test_support.h"

using namespace keel;
using keel::test::mpi;

namespace {

// Dense -> synchronized BN (statistics of the global batch) -> ReLU -> seeded Dropout -> Dense.
std::shared_ptr<Sequential> small_mlp() {
  return std::make_shared<Sequential>(std::vector<layers::LayerPtr>{
      layers::Input({.shape = {6}}),
      layers::Dense({.units = 5}),
      layers::BatchNormalization({.momentum = 0.8, .synchronized = true}),
      layers::Activation({.activation = "relu"}),
      layers::Dropout({.rate = 0.25, .seed = 11}),
      layers::Dense({.units = 3}),
  });
}

void compile(Sequential& model) {
  model.compile({.optimizer = std::make_shared<optim::Adam>(optim::Adam::Options{.learning_rate = 0.01}),
                 .loss = std::make_shared<losses::SparseCategoricalCrossentropy>(
                     losses::SparseCategoricalCrossentropy::Options{.from_logits = true}),
                 .metrics = {"accuracy"}});
}

}  // namespace

TEST_CASE("fit on a dataset under two replicas maps each replica's share only and trains like one process", "[mpi]") {
  REQUIRE(mpi().num_replicas() == 2);
  const std::int64_t samples = 13;
  const Tensor x = test::wave({samples, 6}, 0.5, DType::float64), y = test::labels(samples, 3);
  std::atomic<int> mapped{0};
  // Shuffled (seeded), mapped per sample, batched by 5 (5, 5, 3 rows: shares 3 + 2, 3 + 2, 2 + 1), prefetched.
  // A new pipeline per run: a shuffle's order depends on its pass number.
  const auto train = [&] {
    return data::Dataset::from_tensor_slices({x, y})
        .shuffle(samples, 4)
        .map([&mapped](data::Element e) {
          ++mapped;
          return e;
        }, 2)
        .batch(5)
        .prefetch(2);
  };
  const data::Dataset val = data::Dataset::from_tensor_slices({x, y}).batch(4);

  set_random_seed(3);
  test::Floatx floatx(DType::float64);
  auto distributed = small_mlp(), single = small_mlp();
  compile(*distributed);
  compile(*single);
  single->set_weights(distributed->get_weights());
  const DatasetFitOptions options{.epochs = 2, .verbose = 0, .validation_data = val};
  History got;
  std::vector<double> got_eval;
  {
    distribute::StrategyScope scope(mpi());
    got = distributed->fit(train(), options);
    CHECK(mapped.load() == 2 * (mpi().rank() == 0 ? 3 + 3 + 2 : 2 + 2 + 1));
    got_eval = distributed->evaluate(val, 0);
  }
  mapped = 0;
  History want = single->fit(train(), options);
  CHECK(mapped.load() == 2 * samples);
  const std::vector<double> want_eval = single->evaluate(val, 0);

  test::require_same_weights(*distributed, *single, 1e-10);
  CHECK(test::weights_identical_across_ranks(*distributed));
  for (const std::string key : {"loss", "accuracy", "val_loss", "val_accuracy"}) {
    REQUIRE(got.history[key].size() == 2);
    for (std::size_t e = 0; e < 2; ++e) {
      INFO(key << " of epoch " << e);
      CHECK(got.history[key][e] == Approx(want.history[key][e]).epsilon(1e-10));
    }
  }
  REQUIRE(got_eval.size() == want_eval.size());
  for (std::size_t i = 0; i < got_eval.size(); ++i) CHECK(got_eval[i] == Approx(want_eval[i]).epsilon(1e-10));
}
