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
#include "keel/models/detail/call_guard.h"
#include "keel/models/history.h"
#include "keel/models/losses.h"
#include "keel/models/metrics.h"
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

struct CompileOptions {
  OptimizerSpec optimizer = "rmsprop";
  LossSpec loss = {};
  std::vector<MetricSpec> metrics = {};
};

struct FitOptions {
  std::int64_t batch_size = 32;
  std::int64_t epochs = 1;
  int verbose = 1;  // 0 silent, 1 progress bar, 2 one line per epoch
  std::vector<std::shared_ptr<callbacks::Callback>> callbacks = {};
  double validation_split = 0.0;
  std::optional<std::pair<Tensor, Tensor>> validation_data = std::nullopt;
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

struct SaveOptions {
  bool include_optimizer = true;
};

class Model : public layers::Layer {
 public:
  Model(std::string class_name, std::string name);

  // Containers pass the flag to every layer inside.
  void set_trainable(bool trainable) override;
  // Builds the model if its input shape is known without data (an Input layer); true if built.
  virtual bool build_from_declared_input() { return built(); }

  void compile(CompileOptions options);
  bool compiled() const { return compiled_; }

  History fit(const Tensor& x, const Tensor& y, FitOptions options = {});
  // Loss, then each metric in compile order (names in metrics_names()).
  std::vector<double> evaluate(const Tensor& x, const Tensor& y, EvaluateOptions options = {});
  // Batched, inference mode. Safe to call from several threads at once (docs/threads.md).
  Tensor predict(const Tensor& x, PredictOptions options = {});
  // The same on a data::Dataset whose elements are batches (x, y) or (x, y, sample_weight); predict reads
  // x, the first tensor. Defined in models/dataset_training.cpp (options: keel/models/dataset_fit.h).
  History fit(const data::Dataset& dataset);
  History fit(const data::Dataset& dataset, const DatasetFitOptions& options);
  std::vector<double> evaluate(const data::Dataset& dataset, int verbose = 0);
  Tensor predict(const data::Dataset& dataset, int verbose = 0);
  std::vector<double> train_on_batch(const Tensor& x, const Tensor& y, const Tensor& sample_weight = {});
  std::vector<double> test_on_batch(const Tensor& x, const Tensor& y, const Tensor& sample_weight = {});
  Tensor predict_on_batch(const Tensor& x);
  std::vector<std::string> metrics_names() const;

  // Layer's get_weights / set_weights, under the model's thread rules (docs/threads.md).
  std::vector<Tensor> get_weights() const;
  void set_weights(const std::vector<Tensor>& values);
  // Which threads use the model now; for diagnostics and tests.
  const models::detail::CallGuard& call_guard() const { return calls_; }

  // Set by callbacks (EarlyStopping, TerminateOnNaN) to end fit after the current step.
  bool stop_training = false;
  const std::shared_ptr<optim::Optimizer>& optimizer() const { return optimizer_; }

  // Keras's table: layer (type), output shape, params; then total, trainable, non-trainable.
  void summary(std::ostream& out) const;
  void summary() const;

  // One safetensors file: weights under structural paths, the config, CRC-32s, and optionally the
  // optimizer state. Atomic: a failed save leaves the previous file intact.
  // Under a multi-replica distribute::Strategy only rank 0 writes; the other ranks return at once.
  void save(const std::filesystem::path& path, SaveOptions options = {}) const;
  void save_weights(const std::filesystem::path& path) const;
  // Validates the whole file against the model before changing anything (IOError otherwise).
  void load_weights(const std::filesystem::path& path);

 private:
  struct BatchResult {
    double loss = 0;
    bool finite = true;
  };
  void require_compiled(const char* what) const;
  void snapshot_trainable_weights();
  void warn_if_trainable_changed();
  BatchResult train_step(const Tensor& x, const Tensor& y, const Tensor& sample_weight, bool stop_on_nonfinite);
  void test_step(const Tensor& x, const Tensor& y, const Tensor& sample_weight);
  void check_targets(const Tensor& x, const Tensor& y, const Tensor& sample_weight, const char* what);
  void reset_metrics();
  void update_metrics(const Tensor& y, const Tensor& y_pred, const Tensor& sample_weight);
  std::map<std::string, double> metric_results() const;
  std::vector<double> run_evaluation(const Tensor& x, const Tensor& y, const Tensor& sample_weight,
                                     std::int64_t batch_size, int verbose);
  std::vector<double> run_dataset_evaluation(const data::Dataset& dataset, int verbose, const char* what);

  bool compiled_ = false;
  std::shared_ptr<optim::Optimizer> optimizer_;
  std::shared_ptr<losses::Loss> loss_;
  std::vector<MetricSpec> metric_specs_;
  std::vector<std::shared_ptr<metrics::Metric>> metrics_;  // resolved
  double loss_sum_ = 0, loss_weight_ = 0;  // the epoch's batch-size-weighted loss
  std::vector<Variable> trained_;  // the compile snapshot
  bool snapshot_taken_ = false;
  // Serializes calls from several threads; a call from another thread while fit runs is a UsageError.
  mutable models::detail::CallGuard calls_;
  // A shared entry for an inference call; exclusive while the model is not built yet (the call builds it).
  models::detail::CallGuard::Entry enter_inference(const char* what) const;
  friend class ModelSaving;
  friend class DistributedTraining;  // steps under a multi-replica strategy (models/distributed_training.h)
};

// Rebuilds a model saved with Model::save (config through the layer registry, then weights and,
// when present, the optimizer state). IOError naming the path and the problem.
std::shared_ptr<Model> load_model(const std::filesystem::path& path);

}  // namespace keel
