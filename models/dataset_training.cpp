// Model::fit, evaluate and predict on a data::Dataset of batches: the training loop, steps, metrics,
// callbacks and progress bar are the tensor path's (models/trainer.cpp); only where batches come from
// differs (models/detail/dataset_epoch_iterator.h).
#include <fmt/format.h>

#include <iostream>

#include "keel/autograd/grad_mode.h"
#include "keel/autograd/ops.h"
#include "keel/core/error.h"
#include "keel/models/dataset_fit.h"
#include "keel/models/detail/dataset_epoch_iterator.h"
#include "keel/models/detail/fit_loop.h"
#include "keel/models/detail/progress_bar.h"
#include "keel/models/detail/training_state.h"

namespace keel {
namespace {

void refuse_infinite(const data::Dataset& dataset, const char* what) {
  if (dataset.cardinality() == data::kInfiniteCardinality)
    throw ValueError(fmt::format("{}: the dataset is infinite (repeat()); take() a finite part", what));
}

}  // namespace

History Model::fit(const data::Dataset& dataset) { return fit(dataset, DatasetFitOptions{}); }

History Model::fit(const data::Dataset& dataset, const DatasetFitOptions& options) {
  require_compiled("fit");
  if (options.epochs < 0 || options.initial_epoch < 0)
    throw ValueError(fmt::format("fit: epochs ({}) and initial_epoch ({}) must be >= 0", options.epochs, options.initial_epoch));
  if (options.verbose < 0 || options.verbose > 2)
    throw ValueError(fmt::format("fit: verbose must be 0, 1 or 2, got {}", options.verbose));
  if (options.steps_per_epoch && *options.steps_per_epoch < 1)
    throw ValueError(fmt::format("fit: steps_per_epoch must be >= 1, got {}", *options.steps_per_epoch));
  if (!options.steps_per_epoch && dataset.cardinality() == data::kInfiniteCardinality)
    throw ValueError("fit: the dataset is infinite (repeat()); give steps_per_epoch");
  if (options.validation_data) refuse_infinite(*options.validation_data, "fit (validation_data)");
  auto& s = *state_;
  auto entry = s.calls.enter(models::detail::CallGuard::Access::fit, "fit", name());

  models::detail::DatasetEpochIterator batches(dataset, options.steps_per_epoch, "fit");
  const Batch& first = batches.first();
  if (!built()) build_from(first.x.at(0).shape());
  check_targets(first.x, first.y, first.sample_weight, "fit, y (first batch)");
  prepare_training();
  s.replicas = models::detail::ReplicaGroup::current();
  // Each replica reads only its share of each batch (DatasetEpochIterator); the counts compared across
  // replicas are batches per epoch.
  FitOptions common{.epochs = options.epochs, .verbose = options.verbose, .initial_epoch = options.initial_epoch};
  const std::int64_t validation_batches =
      options.validation_data ? std::max<std::int64_t>(options.validation_data->cardinality(), 0) : 0;
  s.replicas.begin_fit(*this, batches.steps(), validation_batches, common);

  models::detail::FitLoop loop{.epochs = options.epochs, .initial_epoch = options.initial_epoch,
                               .verbose = common.verbose, .callbacks = options.callbacks};
  if (options.validation_data)
    loop.validate = [&] {
      models::detail::DatasetEpochIterator val(*options.validation_data, std::nullopt, "fit (validation_data)");
      return run_evaluation(val, 0, "fit (validation_data)");
    };
  return run_fit(batches, loop);
}

std::vector<double> Model::evaluate(const data::Dataset& dataset, int verbose) {
  auto entry = state_->calls.enter(models::detail::CallGuard::Access::exclusive, "evaluate", name());
  require_compiled("evaluate");
  refuse_infinite(dataset, "evaluate");
  state_->replicas = models::detail::ReplicaGroup::current();
  models::detail::DatasetEpochIterator batches(dataset, std::nullopt, "evaluate");
  return run_evaluation(batches, verbose, "evaluate");
}

Tensor Model::predict(const data::Dataset& dataset, int verbose) {
  refuse_infinite(dataset, "predict");
  std::vector<Tensor> outputs;
  ProgressBar bar(std::max<std::int64_t>(dataset.cardinality(), 0), verbose, std::cout, stdout_is_terminal());
  for (const data::Element& element : dataset) {
    if (element.empty()) throw ValueError("predict: a batch of the dataset holds no tensors");
    const std::int64_t rows = element[0].dim() > 0 ? element[0].size(0) : 1;
    outputs.push_back(predict(element[0], PredictOptions{.batch_size = std::max<std::int64_t>(rows, 1)}));
    bar.update(static_cast<std::int64_t>(outputs.size()), {});
  }
  if (outputs.empty()) throw ValueError("predict: the dataset is empty");
  if (verbose > 0) bar.finish({});
  NoGrad no_grad;
  return outputs.size() == 1 ? outputs[0] : ops::concat(outputs, 0);
}

}  // namespace keel
