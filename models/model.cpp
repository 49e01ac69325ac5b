#include "keel/models/model.h"

#include <fmt/format.h>

#include <cmath>
#include <iostream>

#include "keel/autograd/engine.h"
#include "keel/autograd/grad_mode.h"
#include "keel/autograd/ops.h"
#include "keel/core/error.h"
#include "keel/core/log.h"
#include "keel/core/profiler.h"
#include "keel/core/random.h"
#include "keel/data/in_memory.h"
#include "keel/models/distributed_training.h"
#include "keel/models/progress_bar.h"
#include "keel/optim/registry.h"

namespace keel {
namespace {

using Access = models::detail::CallGuard::Access;

std::int64_t samples_of(const Tensor& t) { return t.dim() == 0 ? 1 : t.shape()[0]; }

Tensor rows(const Tensor& t, std::int64_t begin, std::int64_t end) {
  if (!t.defined()) return t;
  return t.narrow(0, begin, end - begin);
}

Tensor rows_at(const Tensor& t, const Tensor& indices) {
  if (!t.defined()) return t;
  NoGrad no_grad;
  return ops::take_rows(t, indices);
}

// Class weights become per-sample weights (labels sparse [N] / [N, 1], or one-hot [N, C]).
Tensor class_weights_for(const Tensor& y, const std::map<std::int64_t, double>& class_weight) {
  std::vector<double> labels;
  if (y.dim() >= 2 && y.shape().back() > 1) labels = ops::argmax(y, -1).to_vector();
  else labels = y.to_vector();
  std::vector<double> w(labels.size());
  for (std::size_t i = 0; i < labels.size(); ++i) {
    auto it = class_weight.find(static_cast<std::int64_t>(labels[i]));
    w[i] = it == class_weight.end() ? 1.0 : it->second;
  }
  return Tensor::from_vector(w, {static_cast<std::int64_t>(w.size())});
}

Tensor combine_weights(const Tensor& a, const Tensor& b) {
  if (!a.defined()) return b;
  if (!b.defined()) return a;
  NoGrad no_grad;
  return ops::cast(a, DType::float64) * ops::cast(b, DType::float64).reshape(a.shape());
}

}  // namespace

OptimizerSpec::OptimizerSpec(const char* name) : OptimizerSpec(std::string(name)) {}
OptimizerSpec::OptimizerSpec(const std::string& name) : optimizer(optim::get(name)) {}
LossSpec::LossSpec(const char* name) : LossSpec(std::string(name)) {}
LossSpec::LossSpec(const std::string& name) : loss(losses::get(name)) {}
MetricSpec::MetricSpec(std::shared_ptr<metrics::Metric> m, int) : metric(std::move(m)) {
  if (!metric) throw ValueError("compile: a metric is null");
  name = metric->name();
}
MetricSpec::MetricSpec(const char* n) : MetricSpec(std::string(n)) {}
MetricSpec::MetricSpec(const std::string& n) : name(n) {
  // "accuracy" / "acc" depend on the shapes of the first batch (Keras's rule).
  if (n != "accuracy" && n != "acc") metric = metrics::get(n);
}

Model::Model(std::string class_name, std::string name) : Layer(std::move(class_name), std::move(name)) {}

void Model::set_trainable(bool trainable) {
  Layer::set_trainable(trainable);
  for (const auto& layer : sublayers()) layer->set_trainable(trainable);
}

void Model::compile(CompileOptions options) {
  auto entry = calls_.enter(Access::exclusive, "compile", name());
  if (!options.optimizer.optimizer) throw ValueError(fmt::format("compile: model '{}' needs an optimizer", name()));
  if (!options.loss.loss) throw ValueError(fmt::format("compile: model '{}' needs a loss", name()));
  optimizer_ = options.optimizer.optimizer;
  loss_ = options.loss.loss;
  metric_specs_ = options.metrics;
  metrics_.clear();
  compiled_ = true;
  snapshot_taken_ = false;
  if (build_from_declared_input()) snapshot_trainable_weights();
}

void Model::snapshot_trainable_weights() {
  trained_ = trainable_weights();
  snapshot_taken_ = true;
}

void Model::warn_if_trainable_changed() {
  auto now = trainable_weights();
  bool same = now.size() == trained_.size();
  for (std::size_t i = 0; same && i < now.size(); ++i) same = now[i].same_as(trained_[i]);
  if (!same)
    log::warn(fmt::format("Model '{}': trainable flags changed after compile(); the optimizer keeps updating the {} "
                          "weights it had at compile time until compile() is called again",
                          name(), trained_.size()));
}

void Model::require_compiled(const char* what) const {
  if (!compiled_) throw UsageError(fmt::format("{}: model '{}' must be compiled first; call compile() before {}()", what, name(), what));
}

std::vector<Tensor> Model::get_weights() const {
  auto entry = calls_.enter(Access::shared, "get_weights", name());
  return Layer::get_weights();
}

void Model::set_weights(const std::vector<Tensor>& values) {
  auto entry = calls_.enter(Access::exclusive, "set_weights", name());
  Layer::set_weights(values);
}

models::detail::CallGuard::Entry Model::enter_inference(const char* what) const {
  return calls_.enter(Access::shared, what, name(), [this] { return !built(); });
}

std::vector<std::string> Model::metrics_names() const {
  std::vector<std::string> names{"loss"};
  for (const auto& spec : metric_specs_) names.push_back(spec.name);
  return names;
}

void Model::reset_metrics() {
  loss_sum_ = loss_weight_ = 0;
  for (auto& m : metrics_) m->reset_state();
}

void Model::update_metrics(const Tensor& y, const Tensor& y_pred, const Tensor& sample_weight) {
  if (metrics_.size() != metric_specs_.size()) {
    metrics_.clear();
    for (const auto& spec : metric_specs_)
      metrics_.push_back(spec.metric ? spec.metric : metrics::resolve_accuracy(y.shape(), y_pred.shape(), spec.name));
  }
  NoGrad no_grad;
  for (auto& m : metrics_) m->update_state(y, y_pred, sample_weight);
}

std::map<std::string, double> Model::metric_results() const {
  std::map<std::string, double> out;
  out["loss"] = loss_weight_ > 0 ? loss_sum_ / loss_weight_ : 0.0;
  for (std::size_t i = 0; i < metrics_.size(); ++i) out[metric_specs_[i].name] = metrics_[i]->result();
  return out;
}

Model::BatchResult Model::train_step(const Tensor& x, const Tensor& y, const Tensor& sample_weight,
                                     bool stop_on_nonfinite) {
  if (auto* strategy = multi_replica_strategy())
    return DistributedTraining::train_step(*this, *strategy, x, y, sample_weight, stop_on_nonfinite);
  profile::Scope step_scope("train_step (other)");
  layers::StateUpdates staged;
  Tensor y_pred = (*this)(x, layers::CallContext{.training = true, .staged = &staged});
  Tensor loss;
  {
    profile::Scope scope("loss");
    loss = (*loss_)(y, y_pred, sample_weight);
    for (const Tensor& extra : losses()) loss = loss + ops::cast(extra, loss.dtype());
  }
  double value = loss.item();
  if (!std::isfinite(value) && stop_on_nonfinite) return {value, false};  // nothing of this step is applied
  for (const Variable& v : trained_) v.zero_grad();
  {
    profile::Scope scope("backward (engine)");
    backward(loss);
  }
  {
    profile::Scope scope("optimizer ", optimizer_->class_name());
    optimizer_->apply(trained_);
  }
  staged.commit();
  const double n = static_cast<double>(samples_of(x));
  loss_sum_ += value * n;
  loss_weight_ += n;
  profile::Scope scope("metrics");
  update_metrics(y, detach(y_pred), sample_weight);
  return {value, std::isfinite(value)};
}

void Model::test_step(const Tensor& x, const Tensor& y, const Tensor& sample_weight) {
  if (auto* strategy = multi_replica_strategy()) return DistributedTraining::test_step(*this, *strategy, x, y, sample_weight);
  NoGrad no_grad;
  Tensor y_pred = (*this)(x, layers::CallContext{.training = false});
  Tensor loss = (*loss_)(y, y_pred, sample_weight);
  for (const Tensor& extra : losses()) loss = loss + ops::cast(extra, loss.dtype());
  const double n = static_cast<double>(samples_of(x));
  loss_sum_ += loss.item() * n;
  loss_weight_ += n;
  update_metrics(y, y_pred, sample_weight);
}

namespace {

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

void check_batch_size(std::int64_t batch_size, const char* what) {
  if (batch_size <= 0) throw ValueError(fmt::format("{}: batch_size must be > 0, got {}", what, batch_size));
}

}  // namespace

History Model::fit(const Tensor& x, const Tensor& y, FitOptions o) {
  require_compiled("fit");
  check_xy(x, y, o.sample_weight, "fit");
  check_batch_size(o.batch_size, "fit");
  if (o.epochs < 0 || o.initial_epoch < 0)
    throw ValueError(fmt::format("fit: epochs ({}) and initial_epoch ({}) must be >= 0", o.epochs, o.initial_epoch));
  if (o.verbose < 0 || o.verbose > 2) throw ValueError(fmt::format("fit: verbose must be 0, 1 or 2, got {}", o.verbose));
  auto entry = calls_.enter(Access::fit, "fit", name());

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
  if (!o.class_weight.empty()) w_train = combine_weights(w_train, class_weights_for(y_train, o.class_weight));

  if (!built()) build_from(x_train.shape());
  check_targets(x, y, o.sample_weight, "fit, y");  // the whole data set, a validation split included
  if (o.validation_data) check_targets(x_val, y_val, Tensor(), "fit, validation_data");
  if (!snapshot_taken_) snapshot_trainable_weights();
  else warn_if_trainable_changed();
  if (auto* strategy = multi_replica_strategy())
    DistributedTraining::begin_fit(*this, *strategy, samples_of(x_train), x_val.defined() ? samples_of(x_val) : 0, o);

  auto history = std::make_shared<callbacks::HistoryCallback>();
  std::vector<callbacks::CallbackPtr> cbs = o.callbacks;
  cbs.push_back(history);
  bool stop_on_nonfinite = false, log_learning_rate = false;
  for (auto& cb : cbs) {
    cb->set_model(this);
    stop_on_nonfinite = stop_on_nonfinite || cb->stops_on_nonfinite_loss();
    log_learning_rate = log_learning_rate || cb->logs_learning_rate();
  }
  const std::int64_t n = samples_of(x_train);
  const auto batches = data::batch_ranges(n, o.batch_size);
  const std::uint64_t shuffle_seed = o.seed ? *o.seed : random::next_seed();
  stop_training = false;
  std::int64_t steps_run = 0;
  profile::reset();
  for (auto& cb : cbs) cb->on_train_begin({});
  for (std::int64_t epoch = o.initial_epoch; epoch < o.epochs && !stop_training; ++epoch) {
    for (auto& cb : cbs) cb->on_epoch_begin(epoch, {});
    if (o.verbose > 0 && o.epochs > 1) std::cout << fmt::format("Epoch {}/{}\n", epoch + 1, o.epochs);
    ProgressBar bar(static_cast<std::int64_t>(batches.size()), o.verbose, std::cout, stdout_is_terminal());
    reset_metrics();
    Tensor order;
    if (o.shuffle) {
      auto perm = data::shuffled_indices(n, shuffle_seed + static_cast<std::uint64_t>(epoch));
      order = Tensor::from_vector(std::vector<double>(perm.begin(), perm.end()), {n}, DType::int64);
    }
    std::int64_t step = 0;
    std::optional<double> nonfinite_loss;  // the loss of a step TerminateOnNaN dropped
    for (const auto& [b, e] : batches) {
      for (auto& cb : cbs) cb->on_train_batch_begin(step, {});
      Tensor xb, yb, wb;
      {
        profile::Scope scope("batch gather");
        if (o.shuffle) {
          Tensor idx = order.narrow(0, b, e - b);
          xb = rows_at(x_train, idx), yb = rows_at(y_train, idx), wb = rows_at(w_train, idx);
        } else {
          xb = rows(x_train, b, e), yb = rows(y_train, b, e), wb = rows(w_train, b, e);
        }
      }
      BatchResult r = train_step(xb, yb, wb, stop_on_nonfinite);
      ++step;
      ++steps_run;
      if (!r.finite && stop_on_nonfinite) {
        std::cout << fmt::format("Batch {}: Invalid loss, terminating training\n", step - 1);
        nonfinite_loss = r.loss;
        stop_training = true;
        break;
      }
      profile::Scope scope("progress bar, callbacks");
      Logs logs = metric_results();
      bar.update(step, logs);
      for (auto& cb : cbs) cb->on_train_batch_end(step - 1, logs);
      if (stop_training) break;
    }
    Logs logs = metric_results();
    if (nonfinite_loss) logs["loss"] = *nonfinite_loss;  // Keras's logs hold it too, and nothing reads 0 as a loss
    if (x_val.defined() && samples_of(x_val) > 0) {
      const bool profiling = profile::enabled();
      profile::set_enabled(false);  // the table is about training steps
      std::vector<double> val = run_evaluation(x_val, y_val, Tensor(), o.batch_size, 0);
      profile::set_enabled(profiling);
      auto names = metrics_names();
      for (std::size_t i = 0; i < names.size(); ++i) logs["val_" + names[i]] = val[i];
    }
    if (log_learning_rate) logs["learning_rate"] = optimizer_->learning_rate();
    if (o.verbose > 0) bar.finish(logs);
    for (auto& cb : cbs) cb->on_epoch_end(epoch, logs);
  }
  for (auto& cb : cbs) cb->on_train_end({});
  if (profile::enabled()) {
    std::cout << fmt::format("KEEL_PROFILE: time per training step over {} steps\n", steps_run);
    std::cout << profile::table(steps_run);
  }
  return history->history();
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
    (*loss_)(y, Tensor::zeros(shape, probe.dtype()), sample_weight);
  } catch (const ShapeError& e) {
    throw ShapeError(in_context(e));
  } catch (const IndexError& e) {
    throw IndexError(in_context(e));
  } catch (const ValueError& e) {
    throw ValueError(in_context(e));
  }
}

std::vector<double> Model::run_evaluation(const Tensor& x, const Tensor& y, const Tensor& sample_weight,
                                          std::int64_t batch_size, int verbose) {
  const auto batches = data::batch_ranges(samples_of(x), batch_size);
  ProgressBar bar(static_cast<std::int64_t>(batches.size()), verbose, std::cout, stdout_is_terminal());
  reset_metrics();
  std::int64_t step = 0;
  for (const auto& [b, e] : batches) {
    test_step(rows(x, b, e), rows(y, b, e), rows(sample_weight, b, e));
    bar.update(++step, metric_results());
  }
  Logs logs = metric_results();
  if (verbose > 0) bar.finish(logs);
  std::vector<double> out;
  for (const auto& name : metrics_names()) out.push_back(logs[name]);
  return out;
}

std::vector<double> Model::evaluate(const Tensor& x, const Tensor& y, EvaluateOptions o) {
  auto entry = calls_.enter(Access::exclusive, "evaluate", name());
  require_compiled("evaluate");
  check_xy(x, y, o.sample_weight, "evaluate");
  check_batch_size(o.batch_size, "evaluate");
  if (!built()) build_from(x.shape());
  return run_evaluation(x, y, o.sample_weight, o.batch_size, o.verbose);
}

Tensor Model::predict(const Tensor& x, PredictOptions o) {
  auto entry = enter_inference("predict");
  check_batch_size(o.batch_size, "predict");
  if (!x.defined() || x.dim() == 0 || samples_of(x) == 0)
    throw ValueError(fmt::format("predict: x has no samples (shape {})", x.defined() ? to_string(x.shape()) : "undefined"));
  NoGrad no_grad;
  std::vector<Tensor> outputs;
  auto* strategy = multi_replica_strategy();
  for (const auto& [b, e] : data::batch_ranges(samples_of(x), o.batch_size))
    outputs.push_back(strategy ? DistributedTraining::predict_batch(*this, *strategy, rows(x, b, e))
                               : (*this)(rows(x, b, e), layers::CallContext{.training = false}));
  return outputs.size() == 1 ? outputs[0] : ops::concat(outputs, 0);
}

std::vector<double> Model::train_on_batch(const Tensor& x, const Tensor& y, const Tensor& sample_weight) {
  auto entry = calls_.enter(Access::exclusive, "train_on_batch", name());
  require_compiled("train_on_batch");
  check_xy(x, y, sample_weight, "train_on_batch");
  if (!built()) build_from(x.shape());
  if (!snapshot_taken_) snapshot_trainable_weights();
  reset_metrics();
  train_step(x, y, sample_weight, false);
  Logs logs = metric_results();
  std::vector<double> out;
  for (const auto& name : metrics_names()) out.push_back(logs[name]);
  return out;
}

std::vector<double> Model::test_on_batch(const Tensor& x, const Tensor& y, const Tensor& sample_weight) {
  auto entry = calls_.enter(Access::exclusive, "test_on_batch", name());
  require_compiled("test_on_batch");
  check_xy(x, y, sample_weight, "test_on_batch");
  if (!built()) build_from(x.shape());
  reset_metrics();
  test_step(x, y, sample_weight);
  Logs logs = metric_results();
  std::vector<double> out;
  for (const auto& name : metrics_names()) out.push_back(logs[name]);
  return out;
}

Tensor Model::predict_on_batch(const Tensor& x) {
  auto entry = enter_inference("predict_on_batch");
  NoGrad no_grad;
  return (*this)(x, layers::CallContext{.training = false});
}

}  // namespace keel
