// Model's training loops (Keras 3's Trainer): fit, evaluate, predict and the *_on_batch calls run the
// overridable steps over batches from an EpochIterator, spread over the current replicas.
#include <fmt/format.h>

#include <cmath>
#include <iostream>
#include <optional>

#include "keel/autograd/engine.h"
#include "keel/autograd/grad_mode.h"
#include "keel/autograd/ops.h"
#include "keel/core/error.h"
#include "keel/core/log.h"
#include "keel/core/profiler.h"
#include "keel/core/random.h"
#include "keel/data/in_memory.h"
#include "keel/models/detail/batch_rows.h"
#include "keel/models/detail/epoch_iterator.h"
#include "keel/models/detail/fit_loop.h"
#include "keel/models/detail/training_state.h"
#include "keel/models/model.h"
#include "keel/models/detail/progress_bar.h"

namespace keel {
namespace {

using models::detail::CallGuard;
using models::detail::rows;
using models::detail::samples_of;
using Access = CallGuard::Access;

void check_xy(const Tensor& x, const Tensor& y, const Tensor& sample_weight, const char* what) {
  if (!x.defined() || !y.defined()) throw ValueError(fmt::format("{}: x and y must be defined tensors", what));
  if (x.dim() == 0 || samples_of(x) == 0)
    throw ValueError(fmt::format("{}: x has no samples (shape {})", what, to_string(x.shape())));
  if (samples_of(x) != samples_of(y))
    throw ValueError(fmt::format("{}: x has {} samples but y has {} (shapes {} and {})", what, samples_of(x),
                                 samples_of(y), to_string(x.shape()), to_string(y.shape())));
  if (sample_weight.defined() && samples_of(sample_weight) != samples_of(x))
    throw ValueError(fmt::format("{}: sample_weight has {} entries for {} samples", what, samples_of(sample_weight),
                                 samples_of(x)));
}

void check_fit_loop(std::int64_t epochs, std::int64_t initial_epoch, int verbose) {
  if (epochs < 0 || initial_epoch < 0)
    throw ValueError(fmt::format("fit: epochs ({}) and initial_epoch ({}) must be >= 0", epochs, initial_epoch));
  if (verbose < 0 || verbose > 2) throw ValueError(fmt::format("fit: verbose must be 0, 1 or 2, got {}", verbose));
}

void check_batch_size(std::int64_t batch_size, const char* what) {
  if (batch_size <= 0) throw ValueError(fmt::format("{}: batch_size must be > 0, got {}", what, batch_size));
}

// The logs' values in metrics_names() order: what evaluate and the *_on_batch calls return.
std::vector<double> in_order(const Logs& logs, const std::vector<std::string>& names) {
  std::vector<double> out;
  for (const auto& name : names) {
    auto it = logs.find(name);
    out.push_back(it == logs.end() ? std::nan("") : it->second);
  }
  return out;
}

// A shared entry for an inference call; exclusive while the model is not built yet (the call builds it).
CallGuard::Entry enter_inference(CallGuard& calls, const Model& model, const char* what) {
  return calls.enter(Access::shared, what, model.name(), [&model] { return !model.built(); });
}

}  // namespace

void Model::require_compiled(const char* what) const {
  if (!state_->compiled)
    throw UsageError(fmt::format("{}: model '{}' must be compiled first; call compile() before {}()", what, name(), what));
}

void Model::prepare_training() {
  auto& s = *state_;
  if (!s.snapshot_taken) {
    s.trained = trainable_weights();
    s.snapshot_taken = true;
    return;
  }
  auto now = trainable_weights();
  bool same = now.size() == s.trained.size();
  for (std::size_t i = 0; same && i < now.size(); ++i) same = now[i].same_as(s.trained[i]);
  if (!same)
    log::warn(fmt::format("Model '{}': trainable flags changed after compile(); the optimizer keeps updating the {} "
                          "weights it had at compile time until compile() is called again",
                          name(), s.trained.size()));
}

void Model::reset_metrics() {
  state_->loss_sum = state_->loss_weight = 0;
  for (auto& m : state_->metrics) m->reset_state();
}

bool Model::drops_nonfinite_steps() const { return state_->drop_nonfinite_steps; }

Tensor Model::compute_loss(const Tensor& /*x*/, const Tensor& y, const Tensor& y_pred, const Tensor& sample_weight) {
  auto& s = *state_;
  profile::Scope scope("loss");
  Tensor loss = (*s.loss)(y, y_pred, sample_weight);
  if (!s.replicas.distributed()) {
    for (const Tensor& extra : losses()) loss = loss + ops::cast(extra, loss.dtype());
    return loss;
  }
  // This replica's part of the global loss: its loss elements over the global count, its share of Σ losses().
  const double fraction = static_cast<double>(samples_of(y)) / static_cast<double>(s.global_rows);
  if (s.loss->reduction() != losses::Reduction::sum) loss = loss * fraction;
  for (const Tensor& extra : losses()) loss = loss + ops::cast(extra, loss.dtype()) * fraction;
  return loss;
}

double Model::track_loss(const Tensor& loss) {
  auto& s = *state_;
  const double value = s.replicas.sum(loss.item());
  s.loss_sum += value * static_cast<double>(s.global_rows);
  s.loss_weight += static_cast<double>(s.global_rows);
  return value;
}

void Model::apply_gradients(const Tensor& loss, layers::StateUpdates& staged) {
  auto& s = *state_;
  for (const Variable& v : s.trained) v.zero_grad();
  {
    profile::Scope scope("backward (engine)");
    backward(loss);
  }
  {
    profile::Scope scope("optimizer ", s.optimizer->class_name());
    if (s.replicas.distributed()) s.optimizer->apply_gradients(s.replicas.summed_gradients(s.trained), s.trained);
    else s.optimizer->apply(s.trained);
  }
  staged.commit();
  s.replicas.average_replica_local_state(*this, s.local_rows, s.global_rows);
}

Logs Model::compute_metrics(const Tensor& /*x*/, const Tensor& y, const Tensor& y_pred, const Tensor& sample_weight) {
  auto& s = *state_;
  profile::Scope scope("metrics");
  NoGrad no_grad;
  const Tensor y_all = s.replicas.gather_rows(y, s.global_rows);
  const Tensor y_pred_all = s.replicas.gather_rows(detach(y_pred), s.global_rows);
  const Tensor weight_all = s.replicas.gather_rows(sample_weight, s.global_rows);
  if (s.metrics.size() != s.metric_specs.size()) {
    s.metrics.clear();
    for (const auto& spec : s.metric_specs)
      s.metrics.push_back(spec.metric ? spec.metric
                                      : metrics::resolve_accuracy(y_all.shape(), y_pred_all.shape(), spec.name));
  }
  for (auto& m : s.metrics) m->update_state(y_all, y_pred_all, weight_all);
  return metric_results();
}

Logs Model::metric_results() const {
  const auto& s = *state_;
  Logs logs;
  logs["loss"] = s.loss_weight > 0 ? s.loss_sum / s.loss_weight : 0.0;
  for (std::size_t i = 0; i < s.metrics.size(); ++i) logs[s.metric_specs[i].name] = s.metrics[i]->result();
  return logs;
}

Logs Model::train_step(const Batch& batch) {
  profile::Scope step_scope("train_step (other)");
  layers::StateUpdates staged;
  Tensor y_pred = (*this)(batch.x, layers::CallContext{.training = true, .staged = &staged,
                                                       .first_sample = batch.first_sample});
  Tensor loss = compute_loss(batch.x, batch.y, y_pred, batch.sample_weight);
  const double value = track_loss(loss);
  if (!std::isfinite(value) && drops_nonfinite_steps()) return {{"loss", value}};  // nothing of this step is applied
  apply_gradients(loss, staged);
  return compute_metrics(batch.x, batch.y, y_pred, batch.sample_weight);
}

Logs Model::test_step(const Batch& batch) {
  NoGrad no_grad;
  Tensor y_pred = (*this)(batch.x, layers::CallContext{.training = false});
  track_loss(compute_loss(batch.x, batch.y, y_pred, batch.sample_weight));
  return compute_metrics(batch.x, batch.y, y_pred, batch.sample_weight);
}

Tensor Model::predict_step(const Tensor& x) { return (*this)(x, layers::CallContext{.training = false}); }

Logs Model::run_step(const Batch& global, bool training) {
  auto& s = *state_;
  const Batch local = s.replicas.local_batch(global);
  s.global_rows = samples_of(global.x);
  s.local_rows = samples_of(local.x);
  // Synchronized BatchNormalization all-reduces over the replicas.
  std::optional<ReplicaContextScope> replica;
  if (s.replicas.distributed()) replica.emplace(s.replicas.strategy());
  return training ? train_step(local) : test_step(local);
}

History Model::fit(const Tensor& x, const Tensor& y, FitOptions o) {
  require_compiled("fit");
  check_xy(x, y, o.sample_weight, "fit");
  check_batch_size(o.batch_size, "fit");
  check_fit_loop(o.epochs, o.initial_epoch, o.verbose);
  auto& s = *state_;
  auto entry = s.calls.enter(Access::fit, "fit", name());

  // Validation: the last fraction, before shuffling; or explicit data.
  Tensor x_train = x, y_train = y, w_train = o.sample_weight, x_val, y_val;
  if (o.validation_data) {
    x_val = o.validation_data->first;
    y_val = o.validation_data->second;
    check_xy(x_val, y_val, Tensor(), "fit (validation_data)");
  } else if (!(o.validation_split >= 0 && o.validation_split < 1)) {
    throw ValueError(fmt::format("fit: validation_split must be in [0, 1), got {}", o.validation_split));
  } else if (o.validation_split > 0) {
    data::Split split = data::split_last_fraction(samples_of(x), o.validation_split);
    x_train = rows(x, split.train_begin, split.train_end);
    y_train = rows(y, split.train_begin, split.train_end);
    w_train = rows(o.sample_weight, split.train_begin, split.train_end);
    x_val = rows(x, split.val_begin, split.val_end);
    y_val = rows(y, split.val_begin, split.val_end);
  }

  if (!built()) build_from(x_train.shape());
  check_targets(x, y, o.sample_weight, "fit, y");  // the whole data set, a validation split included
  if (o.validation_data) check_targets(x_val, y_val, Tensor(), "fit, validation_data");
  prepare_training();
  s.replicas = models::detail::ReplicaGroup::current();
  s.replicas.begin_fit(*this, samples_of(x_train), x_val.defined() ? samples_of(x_val) : 0, o);

  models::detail::TensorEpochIterator batches(x_train, y_train, w_train,
                                              {.batch_size = o.batch_size, .shuffle = o.shuffle,
                                               .seed = o.seed ? *o.seed : random::next_seed(),
                                               .class_weight = o.class_weight});
  models::detail::FitLoop loop{.epochs = o.epochs, .initial_epoch = o.initial_epoch, .verbose = o.verbose,
                               .callbacks = o.callbacks};
  if (x_val.defined() && samples_of(x_val) > 0)
    loop.validate = [&] {
      models::detail::TensorEpochIterator val(x_val, y_val, Tensor(), {.batch_size = o.batch_size});
      return run_evaluation(val, 0, "fit (validation_data)");
    };
  return run_fit(batches, loop);
}

History Model::run_fit(models::detail::EpochIterator& batches, const models::detail::FitLoop& loop) {
  auto& s = *state_;
  models::detail::FitCallbacks callbacks(loop.callbacks, this);
  s.drop_nonfinite_steps = callbacks.stop_on_nonfinite;
  stop_training = false;
  std::int64_t steps_run = 0;
  profile::reset();
  for (auto& cb : callbacks.all) cb->on_train_begin({});
  for (std::int64_t epoch = loop.initial_epoch; epoch < loop.epochs && !stop_training; ++epoch) {
    for (auto& cb : callbacks.all) cb->on_epoch_begin(epoch, {});
    if (loop.verbose > 0 && loop.epochs > 1) std::cout << fmt::format("Epoch {}/{}\n", epoch + 1, loop.epochs);
    ProgressBar bar(batches.steps(), loop.verbose, std::cout, stdout_is_terminal());
    reset_metrics();
    batches.begin_epoch(epoch);
    std::optional<double> nonfinite_loss;  // the loss of a step TerminateOnNaN dropped
    std::int64_t step = 0;
    while (std::optional<Batch> batch = batches.next()) {
      for (auto& cb : callbacks.all) cb->on_train_batch_begin(step, {});
      Logs logs = run_step(*batch, true);
      ++steps_run;
      if (auto loss = logs.find("loss"); s.drop_nonfinite_steps && loss != logs.end() && !std::isfinite(loss->second)) {
        std::cout << fmt::format("Batch {}: Invalid loss, terminating training\n", step);
        nonfinite_loss = loss->second;
        stop_training = true;
        break;
      }
      ++step;
      profile::Scope scope("progress bar, callbacks");
      bar.update(step, logs);
      for (auto& cb : callbacks.all) cb->on_train_batch_end(step - 1, logs);
      if (stop_training) break;
    }
    Logs logs = metric_results();
    if (nonfinite_loss) logs["loss"] = *nonfinite_loss;  // Keras's logs hold it too, and nothing reads 0 as a loss
    if (loop.validate) {
      const bool profiling = profile::enabled();
      profile::set_enabled(false);  // the table is about training steps
      std::vector<double> val = loop.validate();
      profile::set_enabled(profiling);
      auto names = metrics_names();
      for (std::size_t i = 0; i < names.size(); ++i) logs["val_" + names[i]] = val[i];
    }
    if (callbacks.log_learning_rate) logs["learning_rate"] = s.optimizer->learning_rate();
    if (loop.verbose > 0) bar.finish(logs);
    for (auto& cb : callbacks.all) cb->on_epoch_end(epoch, logs);
  }
  for (auto& cb : callbacks.all) cb->on_train_end({});
  s.drop_nonfinite_steps = false;
  if (profile::enabled()) {
    std::cout << fmt::format("KEEL_PROFILE: time per training step over {} steps\n", steps_run);
    std::cout << profile::table(steps_run);
  }
  return callbacks.history->history();
}

// The loss once over all of y against a zero prediction: a bad label, target shape or input shape is
// refused before the first step, with its row counted in the whole data set.
void Model::check_targets(const Tensor& x, const Tensor& y, const Tensor& sample_weight, const char* what) {
  auto in_context = [what](const std::exception& e) { return fmt::format("{}: {}", what, e.what()); };
  try {
    NoGrad no_grad;
    Tensor probe = (*this)(rows(x, 0, 1), layers::CallContext{.training = false});
    Shape shape = probe.shape();
    if (!shape.empty()) shape[0] = samples_of(y);
    (*state_->loss)(y, Tensor::zeros(shape, probe.dtype()), sample_weight);
  } catch (const ShapeError& e) {
    throw ShapeError(in_context(e));
  } catch (const IndexError& e) {
    throw IndexError(in_context(e));
  } catch (const ValueError& e) {
    throw ValueError(in_context(e));
  }
}

std::vector<double> Model::run_evaluation(models::detail::EpochIterator& batches, int verbose, const char* what) {
  ProgressBar bar(batches.steps(), verbose, std::cout, stdout_is_terminal());
  reset_metrics();
  batches.begin_epoch(0);
  std::int64_t step = 0;
  while (std::optional<Batch> batch = batches.next()) {
    if (!built()) build_from(batch->x.shape());
    bar.update(++step, run_step(*batch, false));
  }
  if (step == 0) throw ValueError(fmt::format("{}: the data is empty (no batch to evaluate)", what));
  Logs logs = metric_results();
  if (verbose > 0) bar.finish(logs);
  return in_order(logs, metrics_names());
}

std::vector<double> Model::evaluate(const Tensor& x, const Tensor& y, EvaluateOptions o) {
  auto entry = state_->calls.enter(Access::exclusive, "evaluate", name());
  require_compiled("evaluate");
  check_xy(x, y, o.sample_weight, "evaluate");
  check_batch_size(o.batch_size, "evaluate");
  if (!built()) build_from(x.shape());
  state_->replicas = models::detail::ReplicaGroup::current();
  models::detail::TensorEpochIterator batches(x, y, o.sample_weight, {.batch_size = o.batch_size});
  return run_evaluation(batches, o.verbose, "evaluate");
}

Tensor Model::predict(const Tensor& x, PredictOptions o) {
  auto entry = enter_inference(state_->calls, *this, "predict");
  check_batch_size(o.batch_size, "predict");
  if (!x.defined() || x.dim() == 0 || samples_of(x) == 0)
    throw ValueError(fmt::format("predict: x has no samples (shape {})", x.defined() ? to_string(x.shape()) : "undefined"));
  NoGrad no_grad;
  // Not state_->replicas: predict may run on several threads at once.
  const auto replicas = models::detail::ReplicaGroup::current();
  std::vector<Tensor> outputs;
  for (const auto& [b, e] : data::batch_ranges(samples_of(x), o.batch_size)) {
    const Tensor batch = rows(x, b, e);
    outputs.push_back(replicas.gather_rows(predict_step(replicas.local_rows(batch)), samples_of(batch)));
  }
  return outputs.size() == 1 ? outputs[0] : ops::concat(outputs, 0);
}

std::vector<double> Model::train_on_batch(const Tensor& x, const Tensor& y, const Tensor& sample_weight) {
  auto entry = state_->calls.enter(Access::exclusive, "train_on_batch", name());
  require_compiled("train_on_batch");
  check_xy(x, y, sample_weight, "train_on_batch");
  if (!built()) build_from(x.shape());
  prepare_training();
  state_->replicas = models::detail::ReplicaGroup::current();
  state_->drop_nonfinite_steps = false;
  reset_metrics();
  return in_order(run_step({.x = x, .y = y, .sample_weight = sample_weight}, true), metrics_names());
}

std::vector<double> Model::test_on_batch(const Tensor& x, const Tensor& y, const Tensor& sample_weight) {
  auto entry = state_->calls.enter(Access::exclusive, "test_on_batch", name());
  require_compiled("test_on_batch");
  check_xy(x, y, sample_weight, "test_on_batch");
  if (!built()) build_from(x.shape());
  state_->replicas = models::detail::ReplicaGroup::current();
  reset_metrics();
  return in_order(run_step({.x = x, .y = y, .sample_weight = sample_weight}, false), metrics_names());
}

Tensor Model::predict_on_batch(const Tensor& x) {
  auto entry = enter_inference(state_->calls, *this, "predict_on_batch");
  NoGrad no_grad;
  return predict_step(x);
}

}  // namespace keel
