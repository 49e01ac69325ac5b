#pragma once
// Keras's callbacks with their defaults and rules (docs/semantics.md §5).
#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "keel/core/tensor.h"
#include "keel/models/history.h"

namespace keel {
class Model;
}

namespace keel::callbacks {

// Replaces "{epoch}" / "{epoch:02d}" in a checkpoint path with `epoch`.
std::string format_epoch_path(const std::string& pattern, std::int64_t epoch);

class Callback {
 public:
  virtual ~Callback() = default;
  void set_model(Model* model) { model_ = model; }
  Model* model() const { return model_; }

  virtual void on_train_begin(const Logs&) {}
  virtual void on_train_end(const Logs&) {}
  virtual void on_epoch_begin(std::int64_t /*epoch*/, const Logs&) {}
  virtual void on_epoch_end(std::int64_t /*epoch*/, const Logs&) {}
  virtual void on_train_batch_begin(std::int64_t /*batch*/, const Logs&) {}
  virtual void on_train_batch_end(std::int64_t /*batch*/, const Logs&) {}
  // True if a step whose loss is not finite must be dropped before anything of it is applied.
  virtual bool stops_on_nonfinite_loss() const { return false; }
  // True if fit must add the optimizer's "learning_rate" to every epoch's logs (Keras 3 does so for
  // ReduceLROnPlateau and LearningRateScheduler): the rate the epoch trained with.
  virtual bool logs_learning_rate() const { return false; }

 private:
  Model* model_ = nullptr;
};

using CallbackPtr = std::shared_ptr<Callback>;

// Records every epoch's logs (fit returns its history).
class HistoryCallback : public Callback {
 public:
  void on_train_begin(const Logs&) override;
  void on_epoch_end(std::int64_t epoch, const Logs& logs) override;
  const History& history() const { return history_; }

 private:
  History history_;
};

// "auto" picks "max" for monitors containing "acc", "auc", "precision" or "recall", else "min".
enum class Mode { auto_, min, max };

struct EarlyStoppingOptions {
  std::string monitor = "val_loss";
  double min_delta = 0.0;
  std::int64_t patience = 0;
  int verbose = 0;
  Mode mode = Mode::auto_;
  std::optional<double> baseline = std::nullopt;
  bool restore_best_weights = false;
  std::int64_t start_from_epoch = 0;
};

class EarlyStopping : public Callback {
 public:
  using Options = EarlyStoppingOptions;
  explicit EarlyStopping(Options options = {});
  void on_train_begin(const Logs&) override;
  void on_epoch_end(std::int64_t epoch, const Logs& logs) override;
  void on_train_end(const Logs&) override;
  std::int64_t stopped_epoch() const { return stopped_epoch_; }

 private:
  bool improved(double current, double reference) const;
  Options options_;
  bool maximize_ = false;
  double best_ = 0;
  std::int64_t wait_ = 0, stopped_epoch_ = 0, best_epoch_ = 0;
  std::vector<Tensor> best_weights_;
};

struct ModelCheckpointOptions {
  std::string filepath;  // "{epoch}" is replaced by the epoch counted from 1 ("{epoch:02d}" pads)
  std::string monitor = "val_loss";
  int verbose = 0;
  bool save_best_only = false;
  bool save_weights_only = false;
  Mode mode = Mode::auto_;
};

class ModelCheckpoint : public Callback {
 public:
  using Options = ModelCheckpointOptions;
  explicit ModelCheckpoint(Options options);
  void on_epoch_end(std::int64_t epoch, const Logs& logs) override;

 private:
  Options options_;
  bool maximize_ = false;
  double best_ = std::numeric_limits<double>::infinity();  // −∞ when maximizing
};

struct ReduceLROnPlateauOptions {
  std::string monitor = "val_loss";
  double factor = 0.1;
  std::int64_t patience = 10;
  int verbose = 0;
  Mode mode = Mode::auto_;
  double min_delta = 1e-4;
  std::int64_t cooldown = 0;
  double min_lr = 0.0;
};

class ReduceLROnPlateau : public Callback {
 public:
  using Options = ReduceLROnPlateauOptions;
  explicit ReduceLROnPlateau(Options options = {});
  void on_train_begin(const Logs&) override;
  void on_epoch_end(std::int64_t epoch, const Logs& logs) override;
  bool logs_learning_rate() const override { return true; }

 private:
  Options options_;
  bool maximize_ = false;
  double best_ = std::numeric_limits<double>::infinity();  // −∞ when maximizing
  std::int64_t wait_ = 0, cooldown_counter_ = 0;
};

// A non-finite loss stops training before anything of that step is applied (docs/semantics.md §5).
class TerminateOnNaN : public Callback {
 public:
  bool stops_on_nonfinite_loss() const override { return true; }
};

class LearningRateScheduler : public Callback {
 public:
  // schedule(epoch, current_lr) -> new lr, set before each epoch.
  explicit LearningRateScheduler(std::function<double(std::int64_t, double)> schedule, int verbose = 0);
  void on_epoch_begin(std::int64_t epoch, const Logs& logs) override;
  bool logs_learning_rate() const override { return true; }

 private:
  std::function<double(std::int64_t, double)> schedule_;
  int verbose_;
};

// One row per epoch: the epoch (counted from 0), then the logs' keys sorted, then "best": 1 when the
// epoch's val_loss (loss without validation) beats every earlier epoch of this fit, else 0; the last
// row marked 1 is the best epoch, the one history_svg marks.
struct CSVLoggerOptions {
  std::string separator = ",";
  bool append = false;
};

class CSVLogger : public Callback {
 public:
  using Options = CSVLoggerOptions;
  explicit CSVLogger(std::filesystem::path path, Options options = {});
  void on_train_begin(const Logs&) override;
  void on_epoch_end(std::int64_t epoch, const Logs& logs) override;

 private:
  std::filesystem::path path_;
  Options options_;
  std::vector<std::string> keys_;
  bool header_written_ = false;
};

struct LambdaCallbackOptions {
  std::function<void(std::int64_t, const Logs&)> on_epoch_begin = {};
  std::function<void(std::int64_t, const Logs&)> on_epoch_end = {};
  std::function<void(std::int64_t, const Logs&)> on_train_batch_begin = {};
  std::function<void(std::int64_t, const Logs&)> on_train_batch_end = {};
  std::function<void(const Logs&)> on_train_begin = {};
  std::function<void(const Logs&)> on_train_end = {};
};

class LambdaCallback : public Callback {
 public:
  using Options = LambdaCallbackOptions;
  explicit LambdaCallback(Options options);
  void on_epoch_begin(std::int64_t epoch, const Logs& logs) override;
  void on_epoch_end(std::int64_t epoch, const Logs& logs) override;
  void on_train_batch_begin(std::int64_t batch, const Logs& logs) override;
  void on_train_batch_end(std::int64_t batch, const Logs& logs) override;
  void on_train_begin(const Logs& logs) override;
  void on_train_end(const Logs& logs) override;

 private:
  Options options_;
};

}  // namespace keel::callbacks
