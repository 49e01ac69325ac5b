#pragma once
// The model API (docs/semantics.md §5): compile / fit / evaluate / predict, summary, save and load.
// A Model is a Layer whose layers train together.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <map>
#include <memory>
#include <optional>
#include <type_traits>
#include <string>
#include <vector>

#include "keel/layers/layer.h"
#include "keel/models/callbacks.h"
#include "keel/models/history.h"
#include "keel/models/losses.h"
#include "keel/models/metrics.h"
#include "keel/models/model_data.h"
#include "keel/optim/optimizer.h"

namespace keel {

namespace data {
class Dataset;
}  // namespace data
struct DatasetFitOptions;  // keel/models/dataset_fit.h

// An optimizer, loss or metric given as an object or a Keras name ("adam", "mse", "accuracy").
struct OptimizerSpec {
  std::shared_ptr<optim::Optimizer> optimizer;
  template <class O>
    requires std::is_base_of_v<optim::Optimizer, O>
  OptimizerSpec(std::shared_ptr<O> o) : optimizer(std::move(o)) {}
  OptimizerSpec(const char* name);
  OptimizerSpec(const std::string& name);
};

struct LossSpec {
  std::shared_ptr<losses::Loss> loss;
  LossSpec() = default;
  template <class L>
    requires std::is_base_of_v<losses::Loss, L>
  LossSpec(std::shared_ptr<L> l) : loss(std::move(l)) {}
  LossSpec(const char* name);
  LossSpec(const std::string& name);
};

struct MetricSpec {
  std::shared_ptr<metrics::Metric> metric;  // null for "accuracy", resolved from shapes at the first batch
  std::string name;
  template <class M>
    requires std::is_base_of_v<metrics::Metric, M>
  MetricSpec(std::shared_ptr<M> m) : MetricSpec(std::shared_ptr<metrics::Metric>(std::move(m)), 0) {}
  MetricSpec(const char* name);
  MetricSpec(const std::string& name);

 private:
  MetricSpec(std::shared_ptr<metrics::Metric> m, int);
};

// compile's loss: one for every output, a list in output order, or a map keyed by output names.
struct Losses : ListOrMap<LossSpec> {
  using ListOrMap<LossSpec>::ListOrMap;
  Losses() = default;
  Losses(const char* name) : Losses(LossSpec(name)) {}
  Losses(const std::string& name) : Losses(LossSpec(name)) {}
  template <class L>
    requires std::is_base_of_v<losses::Loss, L>
  Losses(std::shared_ptr<L> l) : Losses(LossSpec(std::move(l))) {}
  Losses(LossSpec every_output) : every_output_(std::move(every_output)) {}

  // One loss per output (named `output_names`); ValueError naming compile's argument otherwise.
  std::vector<LossSpec> per_output(const std::vector<std::string>& output_names) const;

 private:
  std::optional<LossSpec> every_output_;
};

// compile's loss_weights: one per output as a list or a map keyed by output names; empty: none (each 1).
struct LossWeights : ListOrMap<double> {
  using ListOrMap<double>::ListOrMap;
  LossWeights() = default;
  LossWeights(double one) : ListOrMap<double>(std::vector<double>{one}) {}
};

// compile's metrics: one list for a single output; for several, a list with one entry per output
// (a metric, or a list as std::vector<std::vector<MetricSpec>>), or a map from output names to lists
// (an output without a key has no metrics). Keras's rules.
class Metrics {
 public:
  Metrics() = default;
  Metrics(std::initializer_list<MetricSpec> list) : flat_list_(list) {}
  Metrics(std::vector<MetricSpec> list) : flat_list_(std::move(list)) {}
  Metrics(std::vector<std::vector<MetricSpec>> per_output) : per_output_(std::move(per_output)), flat_(false) {}
  Metrics(std::initializer_list<std::pair<const std::string, std::vector<MetricSpec>>> by_name)
      : per_output_(by_name), flat_(false) {}
  Metrics(std::map<std::string, std::vector<MetricSpec>> by_name) : per_output_(std::move(by_name)), flat_(false) {}

  // The metrics of each output (named `output_names`); ValueError naming compile's argument otherwise.
  std::vector<std::vector<MetricSpec>> per_output(const std::vector<std::string>& output_names) const;

 private:
  ListOrMap<std::vector<MetricSpec>> per_output_;
  std::vector<MetricSpec> flat_list_;
  bool flat_ = true;
};

struct CompileOptions {
  OptimizerSpec optimizer = "rmsprop";
  Losses loss = {};
  LossWeights loss_weights = {};
  Metrics metrics = {};
};

struct FitOptions {
  std::int64_t batch_size = 32;
  std::int64_t epochs = 1;
  int verbose = 1;  // 0 silent, 1 progress bar, 2 one line per epoch
  std::vector<std::shared_ptr<callbacks::Callback>> callbacks = {};
  double validation_split = 0.0;
  std::optional<std::pair<ModelData, ModelData>> validation_data = std::nullopt;
  bool shuffle = true;
  std::map<std::int64_t, double> class_weight = {};
  Tensor sample_weight = {};
  std::int64_t initial_epoch = 0;
  std::optional<std::uint64_t> seed = std::nullopt;  // shuffling; default from keel's global stream
};

struct EvaluateOptions {
  std::int64_t batch_size = 32;
  int verbose = 0;
  Tensor sample_weight = {};
};

struct PredictOptions {
  std::int64_t batch_size = 32;
  int verbose = 0;
};

struct SummaryOptions {
  bool expand_nested = false;
  bool show_trainable = false;
};

struct SaveOptions {
  bool include_optimizer = true;
};

// One batch as train_step and test_step see it: one tensor per model input in x and one per output in
// y (a single-input, single-output model has lists of one). Under a multi-replica strategy it holds this
// replica's rows of the global batch, the first of which is row `first_sample` of it (0 in one process).
// sample_weight applies to every output.
struct Batch {
  std::vector<Tensor> x = {};
  std::vector<Tensor> y = {};
  Tensor sample_weight = {};
  std::int64_t first_sample = 0;
};

namespace models::detail {
struct TrainingState;
class EpochIterator;
struct FitLoop;
}
class Functional;

class Model : public layers::Layer {
 public:
  Model(std::string class_name, std::string name);
  ~Model() override;

  // Keras's keras.Model(inputs, outputs, name): a functional model (models/functional.h).
  static layers::Ref<Functional> functional(const SymbolicTensor& inputs, const SymbolicTensor& outputs,
                                            std::string name = "");
  static layers::Ref<Functional> functional(std::vector<SymbolicTensor> inputs, std::vector<SymbolicTensor> outputs,
                                            std::string name = "");

  // Builds the model if its input shape is known without data (an Input layer); true if built.
  virtual bool build_from_declared_input() { return built(); }

  void compile(CompileOptions options);
  bool compiled() const;
  // Keras's get_compile_config(): {"optimizer", "loss", "metrics"}; null when not compiled.
  nlohmann::json get_compile_config() const;

  // x holds the inputs and y the targets: one tensor each for a single-input, single-output model, else
  // a list in input_names() / output_names() order or a map keyed by those names (ValueError naming
  // them for a wrong count, an unknown or missing name, or differing sample counts).
  History fit(const ModelData& x, const ModelData& y, FitOptions options = {});
  // The values of metrics_names(), in its order.
  std::vector<double> evaluate(const ModelData& x, const ModelData& y, EvaluateOptions options = {});
  // Batched, inference mode. Safe to call from several threads at once (docs/threads.md). predict needs
  // a model with one output; predict_all returns one tensor per output.
  Tensor predict(const ModelData& x, PredictOptions options = {});
  std::vector<Tensor> predict_all(const ModelData& x, PredictOptions options = {});
  // The same on a data::Dataset whose elements are batches (x, y) or (x, y, sample_weight); predict reads
  // x, the first tensor. Defined in models/dataset_training.cpp (options: keel/models/dataset_fit.h).
  History fit(const data::Dataset& dataset);
  History fit(const data::Dataset& dataset, const DatasetFitOptions& options);
  std::vector<double> evaluate(const data::Dataset& dataset, int verbose = 0);
  Tensor predict(const data::Dataset& dataset, int verbose = 0);
  std::vector<double> train_on_batch(const ModelData& x, const ModelData& y, const Tensor& sample_weight = {});
  std::vector<double> test_on_batch(const ModelData& x, const ModelData& y, const Tensor& sample_weight = {});
  Tensor predict_on_batch(const ModelData& x);
  std::vector<Tensor> predict_all_on_batch(const ModelData& x);
  // What evaluate returns, in order (Keras 3): "loss"; with several outputs "<output>_loss" for each
  // output (its unweighted loss), then "<output>_<metric>" sorted by name; with one output, the metrics
  // by name in compile order. fit's History and progress bar use the same keys.
  std::vector<std::string> metrics_names() const;

  // The names of the model's inputs and outputs (a functional model's Input and output layers; else
  // "input" and the last layer's name, as Keras names a Sequential's output).
  virtual std::vector<std::string> input_names() const;
  virtual std::vector<std::string> output_names() const;
  // The forward pass on one tensor per input, returning one per output (Keras's model(inputs)).
  virtual std::vector<Tensor> call_all(const std::vector<Tensor>& inputs, const layers::CallContext& ctx = {});

  // Layer's get_weights / set_weights, under the model's thread rules (docs/threads.md).
  std::vector<Tensor> get_weights() const;
  void set_weights(const std::vector<Tensor>& values);
  // Calls from other threads now waiting for the model (docs/threads.md); for diagnostics and tests.
  std::size_t calls_waiting() const;

  // Set by callbacks (EarlyStopping, TerminateOnNaN) to end fit after the current step.
  bool stop_training = false;
  const std::shared_ptr<optim::Optimizer>& optimizer() const;

  // Keras's table: layer (type), output shape, params; then total, trainable, non-trainable.
  // With expand_nested, an inner model's layers follow its row, indented; show_trainable adds a
  // "Trainable" column (Y / N). A functional model's table has Keras's "Connected to" column.
  void summary(std::ostream& out, SummaryOptions options = {}) const;
  void summary(SummaryOptions options = {}) const;

  // One safetensors file: weights under structural paths, the config, CRC-32s, and optionally the
  // optimizer state. Atomic: a failed save leaves the previous file intact.
  // Under a multi-replica distribute::Strategy only rank 0 writes; the other ranks return at once.
  void save(const std::filesystem::path& path, SaveOptions options = {}) const;
  void save_weights(const std::filesystem::path& path) const;
  // Validates the whole file against the model before changing anything (IOError otherwise).
  void load_weights(const std::filesystem::path& path);

 protected:
  // Keras 3's "customize what happens in fit" (docs/training.md): fit and train_on_batch call
  // train_step once per batch, evaluate and test_on_batch call test_step, predict calls predict_step.
  // The defaults are Keras's: forward in training mode, compute_loss, track_loss, apply_gradients (which
  // also commits the batch's state updates, such as BatchNormalization's moving statistics), then
  // compute_metrics. Under a multi-replica strategy the same code runs on each replica's rows.
  virtual Logs train_step(const Batch& batch);
  virtual Logs test_step(const Batch& batch);
  virtual std::vector<Tensor> predict_step(const std::vector<Tensor>& x);

  // The compiled loss of the batch plus the losses the layers added during the call (activity
  // regularizers, weight penalties): Keras's compute_loss. Under a strategy, this replica's part of the
  // global batch's loss (the replicas' parts sum to it). With several outputs, Σ loss_weight_i · loss_i;
  // the unweighted loss_i are reported as "<output>_loss" by the next track_loss.
  Tensor compute_loss(const std::vector<Tensor>& x, const std::vector<Tensor>& y, const std::vector<Tensor>& y_pred,
                      const Tensor& sample_weight);
  // Adds the batch's loss to the running mean that the logs report as "loss" (and the per-output losses
  // of the last compute_loss to theirs); returns the global batch's loss value.
  double track_loss(const Tensor& loss);
  // Backpropagates `loss`, steps the optimizer over the weights that were trainable at compile time
  // (gradients summed over replicas under a strategy), then commits `staged` (the state updates of the
  // forward call, e.g. BatchNormalization's moving statistics).
  void apply_gradients(const Tensor& loss, layers::StateUpdates& staged);
  // Updates the compiled metrics with the batch (the global batch under a strategy) and returns the
  // running logs: "loss", then each metric by name.
  Logs compute_metrics(const std::vector<Tensor>& x, const std::vector<Tensor>& y, const std::vector<Tensor>& y_pred,
                       const Tensor& sample_weight);
  // True when fit must drop a step whose loss is not finite (a TerminateOnNaN callback is active).
  bool drops_nonfinite_steps() const;

 private:
  void require_compiled(const char* what) const;
  // Takes the compile-time snapshot of the trainable weights, or warns when the flags changed since.
  void prepare_training();
  void reset_metrics();
  // The running logs: "loss", then each metric by name.
  Logs metric_results() const;
  // Runs train_step (training) or test_step on this replica's rows of a global batch.
  Logs run_step(const Batch& global, bool training);
  // The one training loop (callbacks, progress bar, validation) over batches from any EpochIterator.
  History run_fit(models::detail::EpochIterator& batches, const models::detail::FitLoop& loop);
  // Loss and metrics over every batch, in metrics_names() order; ValueError naming `what` when there is none.
  std::vector<double> run_evaluation(models::detail::EpochIterator& batches, int verbose, const char* what);
  void check_targets(const std::vector<Tensor>& x, const std::vector<Tensor>& y, const Tensor& sample_weight,
                     const char* what);
  // x and y as lists in input and output order, checked (a ValueError naming `what` and the tensors).
  std::pair<std::vector<Tensor>, std::vector<Tensor>> checked_data(const ModelData& x, const ModelData& y,
                                                                   const Tensor& sample_weight, const char* what) const;

  std::unique_ptr<models::detail::TrainingState> state_;
};

// Rebuilds a model saved with Model::save (config through the layer registry, then weights and,
// when present, the optimizer state). IOError naming the path and the problem.
std::shared_ptr<Model> load_model(const std::filesystem::path& path);

}  // namespace keel
