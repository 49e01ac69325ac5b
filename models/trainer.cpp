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

// Every tensor of x, y and sample_weight holds the same number of samples, and x some.
void check_samples(const std::vector<Tensor>& x, const std::vector<std::string>& input_names,
                   const std::vector<Tensor>& y, const std::vector<std::string>& output_names,
                   const Tensor& sample_weight, const char* what) {
  auto described = [&](const char* role, const std::vector<std::string>& names, std::size_t i) {
    return names.size() == 1 ? std::string(role) : fmt::format("{} '{}'", role, names[i]);
  };
  for (std::size_t i = 0; i < x.size(); ++i) {
    const std::string input = described("x", input_names, i);
    if (!x[i].defined()) throw ValueError(fmt::format("{}: {} must be a defined tensor", what, input));
    if (x[i].dim() == 0 || samples_of(x[i]) == 0)
      throw ValueError(fmt::format("{}: {} has no samples (shape {})", what, input, to_string(x[i].shape())));
    if (samples_of(x[i]) != samples_of(x[0]))
      throw ValueError(fmt::format("{}: {} has {} samples but {} has {} (shapes {} and {})", what, input,
                                   samples_of(x[i]), described("x", input_names, 0), samples_of(x[0]),
                                   to_string(x[i].shape()), to_string(x[0].shape())));
  }
  for (std::size_t i = 0; i < y.size(); ++i) {
    const std::string target = described("y", output_names, i);
    if (!y[i].defined()) throw ValueError(fmt::format("{}: {} must be a defined tensor", what, target));
    if (samples_of(x[0]) != samples_of(y[i]))
      throw ValueError(fmt::format("{}: {} has {} samples but {} has {} (shapes {} and {})", what,
                                   described("x", input_names, 0), samples_of(x[0]), target, samples_of(y[i]),
                                   to_string(x[0].shape()), to_string(y[i].shape())));
  }
  if (sample_weight.defined() && samples_of(sample_weight) != samples_of(x[0]))
    throw ValueError(fmt::format("{}: sample_weight has {} entries for {} samples", what, samples_of(sample_weight),
                                 samples_of(x[0])));
}

std::vector<Tensor> rows_of_each(const std::vector<Tensor>& tensors, std::int64_t begin, std::int64_t end) {
  std::vector<Tensor> out;
  for (const Tensor& t : tensors) out.push_back(rows(t, begin, end));
  return out;
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
  auto& s = *state_;
  s.loss_sum = s.loss_weight = 0;
  s.output_loss_sums.assign(s.output_names.size() > 1 ? s.output_names.size() : 0, 0.0);
  s.pending_output_losses.clear();
  for (auto& output : s.metrics)
    for (auto& m : output) m->reset_state();
}

bool Model::drops_nonfinite_steps() const { return state_->drop_nonfinite_steps; }

Tensor Model::compute_loss(const std::vector<Tensor>& /*x*/, const std::vector<Tensor>& y,
                           const std::vector<Tensor>& y_pred, const Tensor& sample_weight) {
  auto& s = *state_;
  profile::Scope scope("loss");
  if (y.size() != s.losses.size() || y_pred.size() != s.losses.size())
    throw ValueError(fmt::format("compute_loss: model '{}' has {} outputs, got {} targets and {} predictions", name(),
                                 s.losses.size(), y.size(), y_pred.size()));
  // This replica's part of the global loss: its loss elements over the global count, its share of Σ losses().
  const double fraction =
      s.replicas.distributed() ? static_cast<double>(samples_of(y[0])) / static_cast<double>(s.global_rows) : 1.0;
  Tensor loss;
  s.pending_output_losses.clear();
  for (std::size_t i = 0; i < s.losses.size(); ++i) {
    Tensor output_loss = (*s.losses[i])(y[i], y_pred[i], sample_weight);
    if (fraction != 1.0 && s.losses[i]->reduction() != losses::Reduction::sum) output_loss = output_loss * fraction;
    if (s.losses.size() > 1) s.pending_output_losses.push_back(output_loss.item());
    if (!s.loss_weights.empty()) output_loss = output_loss * s.loss_weights[i];
    loss = loss.defined() ? loss + output_loss : output_loss;
  }
  for (const Tensor& extra : losses()) {
    Tensor added = ops::cast(extra, loss.dtype());
    loss = loss + (fraction != 1.0 ? added * fraction : added);
  }
  return loss;
}

double Model::track_loss(const Tensor& loss) {
  auto& s = *state_;
  const double value = s.replicas.sum(loss.item());
  s.loss_sum += value * static_cast<double>(s.global_rows);
  s.loss_weight += static_cast<double>(s.global_rows);
  for (std::size_t i = 0; i < s.pending_output_losses.size() && i < s.output_loss_sums.size(); ++i)
    s.output_loss_sums[i] += s.replicas.sum(s.pending_output_losses[i]) * static_cast<double>(s.global_rows);
  s.pending_output_losses.clear();
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

Logs Model::compute_metrics(const std::vector<Tensor>& /*x*/, const std::vector<Tensor>& y,
                            const std::vector<Tensor>& y_pred, const Tensor& sample_weight) {
  auto& s = *state_;
  profile::Scope scope("metrics");
  NoGrad no_grad;
  const Tensor weight_all = s.replicas.gather_rows(sample_weight, s.global_rows);
  const bool resolve = s.metrics.size() != s.metric_specs.size();
  if (resolve) s.metrics.assign(s.metric_specs.size(), {});
  for (std::size_t i = 0; i < s.metric_specs.size(); ++i) {
    if (s.metric_specs[i].empty()) continue;
    const Tensor y_all = s.replicas.gather_rows(y[i], s.global_rows);
    const Tensor y_pred_all = s.replicas.gather_rows(detach(y_pred[i]), s.global_rows);
    if (resolve)
      for (const auto& spec : s.metric_specs[i])
        s.metrics[i].push_back(spec.metric ? spec.metric
                                           : metrics::resolve_accuracy(y_all.shape(), y_pred_all.shape(), spec.name));
    for (auto& m : s.metrics[i]) m->update_state(y_all, y_pred_all, weight_all);
  }
  return metric_results();
}

Logs Model::metric_results() const {
  const auto& s = *state_;
  Logs logs;
  logs["loss"] = s.loss_weight > 0 ? s.loss_sum / s.loss_weight : 0.0;
  for (std::size_t i = 0; i < s.output_loss_sums.size(); ++i)
    logs[s.output_names[i] + "_loss"] = s.loss_weight > 0 ? s.output_loss_sums[i] / s.loss_weight : 0.0;
  for (std::size_t i = 0; i < s.metrics.size(); ++i)
    for (std::size_t j = 0; j < s.metrics[i].size(); ++j) {
      const std::string& metric = s.metric_specs[i][j].name;
      logs[s.output_names.size() > 1 ? s.output_names[i] + "_" + metric : metric] = s.metrics[i][j]->result();
    }
  return logs;
}

Logs Model::train_step(const Batch& batch) {
  profile::Scope step_scope("train_step (other)");
  layers::StateUpdates staged;
  std::vector<Tensor> y_pred =
      call_all(batch.x, layers::CallContext{.training = true, .staged = &staged, .first_sample = batch.first_sample});
  Tensor loss = compute_loss(batch.x, batch.y, y_pred, batch.sample_weight);
  const double value = track_loss(loss);
  if (!std::isfinite(value) && drops_nonfinite_steps()) return {{"loss", value}};  // nothing of this step is applied
  apply_gradients(loss, staged);
  return compute_metrics(batch.x, batch.y, y_pred, batch.sample_weight);
}

Logs Model::test_step(const Batch& batch) {
  NoGrad no_grad;
  std::vector<Tensor> y_pred = call_all(batch.x, layers::CallContext{.training = false});
  track_loss(compute_loss(batch.x, batch.y, y_pred, batch.sample_weight));
  return compute_metrics(batch.x, batch.y, y_pred, batch.sample_weight);
}

std::vector<Tensor> Model::predict_step(const std::vector<Tensor>& x) {
  return call_all(x, layers::CallContext{.training = false});
}

Logs Model::run_step(const Batch& global, bool training) {
  auto& s = *state_;
  const Batch local = s.replicas.local_batch(global);
  s.global_rows = samples_of(global.x.at(0));
  s.local_rows = samples_of(local.x.at(0));
  // Synchronized BatchNormalization all-reduces over the replicas.
  std::optional<ReplicaContextScope> replica;
  if (s.replicas.distributed()) replica.emplace(s.replicas.strategy());
  return training ? train_step(local) : test_step(local);
}

std::pair<std::vector<Tensor>, std::vector<Tensor>> Model::checked_data(const ModelData& x, const ModelData& y,
                                                                         const Tensor& sample_weight,
                                                                         const char* what) const {
  const auto inputs = input_names(), outputs = output_names();
  std::pair<std::vector<Tensor>, std::vector<Tensor>> xy{x.in_order(inputs, what, "x"), y.in_order(outputs, what, "y")};
  check_samples(xy.first, inputs, xy.second, outputs, sample_weight, what);
  return xy;
}

History Model::fit(const ModelData& x_data, const ModelData& y_data, FitOptions o) {
  require_compiled("fit");
  const auto [x, y] = checked_data(x_data, y_data, o.sample_weight, "fit");
  check_batch_size(o.batch_size, "fit");
  check_fit_loop(o.epochs, o.initial_epoch, o.verbose);
  if (!o.class_weight.empty() && y.size() > 1)
    throw ValueError(fmt::format("fit: class_weight is only supported for a model with one output; '{}' has {}",
                                 name(), y.size()));
  auto& s = *state_;
  auto entry = s.calls.enter(Access::fit, "fit", name());

  // Validation: the last fraction, before shuffling; or explicit data.
  std::vector<Tensor> x_train = x, y_train = y, x_val, y_val;
  Tensor w_train = o.sample_weight;
  if (o.validation_data) {
    std::tie(x_val, y_val) = checked_data(o.validation_data->first, o.validation_data->second, Tensor(),
                                          "fit (validation_data)");
  } else if (!(o.validation_split >= 0 && o.validation_split < 1)) {
    throw ValueError(fmt::format("fit: validation_split must be in [0, 1), got {}", o.validation_split));
  } else if (o.validation_split > 0) {
    data::Split split = data::split_last_fraction(samples_of(x[0]), o.validation_split);
    x_train = rows_of_each(x, split.train_begin, split.train_end);
    y_train = rows_of_each(y, split.train_begin, split.train_end);
    w_train = rows(o.sample_weight, split.train_begin, split.train_end);
    x_val = rows_of_each(x, split.val_begin, split.val_end);
    y_val = rows_of_each(y, split.val_begin, split.val_end);
  }

  if (!built()) build_from(x_train[0].shape());
  check_targets(x, y, o.sample_weight, "fit, y");  // the whole data set, a validation split included
  if (o.validation_data) check_targets(x_val, y_val, Tensor(), "fit, validation_data");
  prepare_training();
  const std::int64_t val_samples = x_val.empty() ? 0 : samples_of(x_val[0]);
  s.replicas = models::detail::ReplicaGroup::current();
  s.replicas.begin_fit(*this, samples_of(x_train[0]), val_samples, o);

  models::detail::TensorEpochIterator batches(x_train, y_train, w_train,
                                              {.batch_size = o.batch_size, .shuffle = o.shuffle,
                                               .seed = o.seed ? *o.seed : random::next_seed(),
                                               .class_weight = o.class_weight});
  models::detail::FitLoop loop{.epochs = o.epochs, .initial_epoch = o.initial_epoch, .verbose = o.verbose,
                               .callbacks = o.callbacks};
  if (val_samples > 0)
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
void Model::check_targets(const std::vector<Tensor>& x, const std::vector<Tensor>& y, const Tensor& sample_weight,
                          const char* what) {
  const auto& s = *state_;
  std::string context = what;
  auto in_context = [&context](const std::exception& e) { return fmt::format("{}: {}", context, e.what()); };
  try {
    NoGrad no_grad;
    const std::vector<Tensor> probe = call_all(rows_of_each(x, 0, 1), layers::CallContext{.training = false});
    for (std::size_t i = 0; i < s.losses.size() && i < probe.size(); ++i) {
      if (s.losses.size() > 1) context = fmt::format("{} '{}'", what, s.output_names[i]);
      Shape shape = probe[i].shape();
      if (!shape.empty()) shape[0] = samples_of(y[i]);
      (*s.losses[i])(y[i], Tensor::zeros(shape, probe[i].dtype()), sample_weight);
    }
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
    if (!built()) build_from(batch->x.at(0).shape());
    bar.update(++step, run_step(*batch, false));
  }
  if (step == 0) throw ValueError(fmt::format("{}: the data is empty (no batch to evaluate)", what));
  Logs logs = metric_results();
  if (verbose > 0) bar.finish(logs);
  return in_order(logs, metrics_names());
}

std::vector<double> Model::evaluate(const ModelData& x_data, const ModelData& y_data, EvaluateOptions o) {
  auto entry = state_->calls.enter(Access::exclusive, "evaluate", name());
  require_compiled("evaluate");
  const auto [x, y] = checked_data(x_data, y_data, o.sample_weight, "evaluate");
  check_batch_size(o.batch_size, "evaluate");
  if (!built()) build_from(x[0].shape());
  state_->replicas = models::detail::ReplicaGroup::current();
  models::detail::TensorEpochIterator batches(x, y, o.sample_weight, {.batch_size = o.batch_size});
  return run_evaluation(batches, o.verbose, "evaluate");
}

Tensor Model::predict(const ModelData& x, PredictOptions o) {
  std::vector<Tensor> outputs = predict_all(x, o);
  if (outputs.size() != 1)
    throw UsageError(fmt::format("predict: model '{}' has {} outputs; call predict_all() for all of them", name(),
                                 outputs.size()));
  return outputs[0];
}

std::vector<Tensor> Model::predict_all(const ModelData& x_data, PredictOptions o) {
  auto entry = enter_inference(state_->calls, *this, "predict");
  check_batch_size(o.batch_size, "predict");
  const std::vector<Tensor> x = x_data.in_order(input_names(), "predict", "x");
  check_samples(x, input_names(), {}, {}, Tensor(), "predict");
  NoGrad no_grad;
  // Not state_->replicas: predict may run on several threads at once.
  const auto replicas = models::detail::ReplicaGroup::current();
  std::vector<std::vector<Tensor>> batches;  // per output, its batches
  for (const auto& [b, e] : data::batch_ranges(samples_of(x[0]), o.batch_size)) {
    std::vector<Tensor> local;
    for (const Tensor& input : x) local.push_back(replicas.local_rows(rows(input, b, e)));
    const std::vector<Tensor> predicted = predict_step(local);
    batches.resize(predicted.size());
    for (std::size_t i = 0; i < predicted.size(); ++i) batches[i].push_back(replicas.gather_rows(predicted[i], e - b));
  }
  std::vector<Tensor> outputs;
  for (const auto& output : batches) outputs.push_back(output.size() == 1 ? output[0] : ops::concat(output, 0));
  return outputs;
}

std::vector<double> Model::train_on_batch(const ModelData& x_data, const ModelData& y_data, const Tensor& sample_weight) {
  auto entry = state_->calls.enter(Access::exclusive, "train_on_batch", name());
  require_compiled("train_on_batch");
  auto [x, y] = checked_data(x_data, y_data, sample_weight, "train_on_batch");
  if (!built()) build_from(x[0].shape());
  prepare_training();
  state_->replicas = models::detail::ReplicaGroup::current();
  state_->drop_nonfinite_steps = false;
  reset_metrics();
  return in_order(run_step({.x = std::move(x), .y = std::move(y), .sample_weight = sample_weight}, true), metrics_names());
}

std::vector<double> Model::test_on_batch(const ModelData& x_data, const ModelData& y_data, const Tensor& sample_weight) {
  auto entry = state_->calls.enter(Access::exclusive, "test_on_batch", name());
  require_compiled("test_on_batch");
  auto [x, y] = checked_data(x_data, y_data, sample_weight, "test_on_batch");
  if (!built()) build_from(x[0].shape());
  state_->replicas = models::detail::ReplicaGroup::current();
  reset_metrics();
  return in_order(run_step({.x = std::move(x), .y = std::move(y), .sample_weight = sample_weight}, false), metrics_names());
}

Tensor Model::predict_on_batch(const ModelData& x) {
  std::vector<Tensor> outputs = predict_all_on_batch(x);
  if (outputs.size() != 1)
    throw UsageError(fmt::format("predict_on_batch: model '{}' has {} outputs; call predict_all_on_batch() for all of "
                                 "them", name(), outputs.size()));
  return outputs[0];
}

std::vector<Tensor> Model::predict_all_on_batch(const ModelData& x) {
  auto entry = enter_inference(state_->calls, *this, "predict_on_batch");
  NoGrad no_grad;
  return predict_step(x.in_order(input_names(), "predict_on_batch", "x"));
}

}  // namespace keel
