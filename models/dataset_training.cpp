// Model::fit, evaluate and predict on a data::Dataset of batches. The training step, metrics, callbacks and
// progress bar are the tensor path's (models/model.cpp); only where batches come from differs.
#include <fmt/format.h>

#include <iostream>

#include "keel/autograd/grad_mode.h"
#include "keel/autograd/ops.h"
#include "keel/core/error.h"
#include "keel/core/profiler.h"
#include "keel/models/dataset_fit.h"
#include "keel/models/detail/fit_callbacks.h"
#include "keel/models/distributed_training.h"
#include "keel/models/progress_bar.h"

namespace keel {
namespace {

using Access = models::detail::CallGuard::Access;

struct Batch {
  Tensor x, y, sample_weight;
};

Batch unpack(const data::Element& element, const char* what, std::int64_t step) {
  if (element.size() != 2 && element.size() != 3)
    throw ValueError(fmt::format("{}: batch {} of the dataset holds {} tensors; training and evaluation need "
                                 "(x, y) or (x, y, sample_weight) batches",
                                 what, step, element.size()));
  return {element[0], element[1], element.size() == 3 ? element[2] : Tensor()};
}

// The batches of each epoch: a new pass per epoch, or with steps_per_epoch one pass that continues across
// epochs and starts again at its end. The first batch can be looked at before training starts.
class EpochBatches {
 public:
  EpochBatches(const data::Dataset& dataset, std::optional<std::int64_t> steps_per_epoch, const char* what)
      : dataset_(dataset), steps_(steps_per_epoch), what_(what) {}

  const data::Element& first() {
    if (!pending_) pending_ = read();
    if (!pending_) throw ValueError(fmt::format("{}: the dataset is empty", what_));
    return *pending_;
  }

  void begin_epoch() {
    taken_ = 0;
    if (!steps_ && !pending_) pass_.reset();  // a new pass, unless first() already started one
  }

  std::optional<data::Element> next() {
    if (steps_ && taken_ >= *steps_) return std::nullopt;
    std::optional<data::Element> e = pending_ ? std::exchange(pending_, std::nullopt) : read();
    if (!e && steps_) {
      pass_.reset();
      e = read();
      if (!e) throw ValueError(fmt::format("{}: the dataset is empty", what_));
    }
    if (e) ++taken_;
    return e;
  }

  std::int64_t steps() const {
    if (steps_) return *steps_;
    return std::max<std::int64_t>(dataset_.cardinality(), 0);  // 0: unknown, the bar shows no fraction
  }

 private:
  std::optional<data::Element> read() {
    if (!pass_) pass_.emplace(dataset_.iterator());
    return pass_->next();
  }

  data::Dataset dataset_;
  std::optional<std::int64_t> steps_;
  const char* what_;
  std::optional<data::DatasetIterator> pass_;
  std::optional<data::Element> pending_;
  std::int64_t taken_ = 0;
};

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
  auto entry = calls_.enter(Access::fit, "fit", name());

  EpochBatches batches(dataset, options.steps_per_epoch, "fit");
  const Batch first = unpack(batches.first(), "fit", 0);
  if (!built()) build_from(first.x.shape());
  check_targets(first.x, first.y, first.sample_weight, "fit, y (first batch)");
  if (!snapshot_taken_) snapshot_trainable_weights();
  else warn_if_trainable_changed();
  int verbose = options.verbose;
  if (auto* strategy = multi_replica_strategy()) {
    // Every replica reads the whole dataset and trains on its share of each batch; the counts compared
    // across replicas are batches per epoch.
    FitOptions common{.epochs = options.epochs, .verbose = verbose, .initial_epoch = options.initial_epoch};
    const std::int64_t validation_batches = options.validation_data ? std::max<std::int64_t>(options.validation_data->cardinality(), 0) : 0;
    DistributedTraining::begin_fit(*this, *strategy, batches.steps(), validation_batches, common);
    verbose = common.verbose;
  }

  models::detail::FitCallbacks callbacks(options.callbacks, this);
  auto& cbs = callbacks.all;
  stop_training = false;
  for (auto& cb : cbs) cb->on_train_begin({});
  for (std::int64_t epoch = options.initial_epoch; epoch < options.epochs && !stop_training; ++epoch) {
    for (auto& cb : cbs) cb->on_epoch_begin(epoch, {});
    if (verbose > 0 && options.epochs > 1) std::cout << fmt::format("Epoch {}/{}\n", epoch + 1, options.epochs);
    ProgressBar bar(batches.steps(), verbose, std::cout, stdout_is_terminal());
    reset_metrics();
    batches.begin_epoch();
    std::int64_t step = 0;
    std::optional<double> nonfinite_loss;
    while (std::optional<data::Element> element = batches.next()) {
      const Batch b = unpack(*element, "fit", step);
      for (auto& cb : cbs) cb->on_train_batch_begin(step, {});
      const BatchResult r = train_step(b.x, b.y, b.sample_weight, callbacks.stop_on_nonfinite);
      ++step;
      if (!r.finite && callbacks.stop_on_nonfinite) {
        std::cout << fmt::format("Batch {}: Invalid loss, terminating training\n", step - 1);
        nonfinite_loss = r.loss;
        stop_training = true;
        break;
      }
      Logs logs = metric_results();
      bar.update(step, logs);
      for (auto& cb : cbs) cb->on_train_batch_end(step - 1, logs);
      if (stop_training) break;
    }
    Logs logs = metric_results();
    if (nonfinite_loss) logs["loss"] = *nonfinite_loss;
    if (options.validation_data) {
      const std::vector<double> val = run_dataset_evaluation(*options.validation_data, 0, "fit (validation_data)");
      const std::vector<std::string> names = metrics_names();
      for (std::size_t i = 0; i < names.size(); ++i) logs["val_" + names[i]] = val[i];
    }
    if (callbacks.log_learning_rate) logs["learning_rate"] = optimizer_->learning_rate();
    if (verbose > 0) bar.finish(logs);
    for (auto& cb : cbs) cb->on_epoch_end(epoch, logs);
  }
  for (auto& cb : cbs) cb->on_train_end({});
  return callbacks.history->history();
}

std::vector<double> Model::run_dataset_evaluation(const data::Dataset& dataset, int verbose, const char* what) {
  if (dataset.cardinality() == data::kInfiniteCardinality)
    throw ValueError(fmt::format("{}: the dataset is infinite (repeat()); take() a finite part", what));
  ProgressBar bar(std::max<std::int64_t>(dataset.cardinality(), 0), verbose, std::cout, stdout_is_terminal());
  reset_metrics();
  std::int64_t step = 0;
  for (const data::Element& element : dataset) {
    const Batch b = unpack(element, what, step);
    if (!built()) build_from(b.x.shape());
    test_step(b.x, b.y, b.sample_weight);
    bar.update(++step, metric_results());
  }
  if (step == 0) throw ValueError(fmt::format("{}: the dataset is empty", what));
  Logs logs = metric_results();
  if (verbose > 0) bar.finish(logs);
  std::vector<double> out;
  for (const auto& metric : metrics_names()) out.push_back(logs[metric]);
  return out;
}

std::vector<double> Model::evaluate(const data::Dataset& dataset, int verbose) {
  auto entry = calls_.enter(Access::exclusive, "evaluate", name());
  require_compiled("evaluate");
  return run_dataset_evaluation(dataset, verbose, "evaluate");
}

Tensor Model::predict(const data::Dataset& dataset, int verbose) {
  if (dataset.cardinality() == data::kInfiniteCardinality)
    throw ValueError("predict: the dataset is infinite (repeat()); take() a finite part");
  std::vector<Tensor> outputs;
  ProgressBar bar(std::max<std::int64_t>(dataset.cardinality(), 0), verbose, std::cout, stdout_is_terminal());
  for (const data::Element& element : dataset) {
    if (element.empty()) throw ValueError("predict: a batch of the dataset holds no tensors");
    outputs.push_back(predict(element[0], PredictOptions{.batch_size = std::max<std::int64_t>(element[0].dim() > 0 ? element[0].size(0) : 1, 1)}));
    bar.update(static_cast<std::int64_t>(outputs.size()), {});
  }
  if (outputs.empty()) throw ValueError("predict: the dataset is empty");
  if (verbose > 0) bar.finish({});
  NoGrad no_grad;
  return outputs.size() == 1 ? outputs[0] : ops::concat(outputs, 0);
}

}  // namespace keel
