// One training, test or predict step of a Model spread over the replicas of a strategy.
#include "keel/models/distributed_training.h"

#include <fmt/format.h>

#include <cmath>

#include "keel/autograd/engine.h"
#include "keel/autograd/grad_mode.h"
#include "keel/autograd/ops.h"
#include "keel/layers/batch_normalization.h"

namespace keel {
namespace {

std::int64_t samples_of(const Tensor& t) { return t.dim() == 0 ? 1 : t.shape()[0]; }

Tensor share_rows(const Tensor& t, const distribute::Share& s) {
  return t.defined() ? t.narrow(0, s.begin, s.size()) : t;
}

// The replicas' rows of `local` concatenated in rank order (the global batch's rows, in its order).
Tensor gather_rows(distribute::Strategy& strategy, const Tensor& local, std::int64_t global_rows) {
  std::vector<double> all = strategy.all_gather_varying(local.to_vector());
  Shape shape = local.shape();
  shape[0] = global_rows;
  return Tensor::from_vector(all, shape, local.dtype());
}

// The moving statistics of unsynchronized BatchNormalization layers: replica-local after a step.
void collect_replica_local_state(const layers::Layer& layer, std::vector<Variable>& out) {
  if (const auto* bn = dynamic_cast<const layers::BatchNormalizationLayer*>(&layer); bn && !bn->options().synchronized) {
    for (const Variable& v : bn->non_trainable_weights()) out.push_back(v);
  }
  for (const auto& inner : layer.sublayers()) collect_replica_local_state(*inner, out);
}

// Each replica-local statistic becomes Σ_r n_r·value_r / B (a replica without samples weighs nothing).
void average_replica_local_state(const Model& model, distribute::Strategy& strategy, double share, double global) {
  std::vector<Variable> state;
  collect_replica_local_state(model, state);
  if (state.empty()) return;
  std::vector<double> packed;
  for (const Variable& v : state)
    for (double value : v.value().to_vector()) packed.push_back(value * share);
  strategy.all_reduce_sum(packed);
  std::size_t offset = 0;
  for (const Variable& v : state) {
    const auto n = static_cast<std::size_t>(v.value().numel());
    std::vector<double> mean(packed.begin() + static_cast<std::ptrdiff_t>(offset),
                             packed.begin() + static_cast<std::ptrdiff_t>(offset + n));
    for (double& m : mean) m /= global;
    v.assign(Tensor::from_vector(mean, v.shape(), v.dtype()));
    offset += n;
  }
}

// Every trainable weight's gradient summed over replicas (bucketed). A gradient no replica produced
// stays undefined, as in one process; one that only some replicas produced counts as zero elsewhere.
std::vector<Tensor> summed_gradients(const std::vector<Variable>& trained, distribute::Strategy& strategy) {
  std::vector<Tensor> local;
  std::vector<double> present;
  for (const Variable& v : trained) {
    Tensor g = v.grad();
    present.push_back(g.defined() ? 1.0 : 0.0);
    local.push_back(g.defined() ? g.contiguous() : Tensor::zeros(v.shape(), v.dtype()));
  }
  strategy.all_reduce_sum(present);
  std::vector<Tensor> summed = strategy.all_reduce_tensors(local);
  for (std::size_t i = 0; i < summed.size(); ++i)
    if (present[i] == 0) summed[i] = Tensor();
  return summed;
}

}  // namespace

Model::BatchResult DistributedTraining::train_step(Model& m, distribute::Strategy& strategy, const Tensor& x,
                                                   const Tensor& y, const Tensor& sample_weight, bool stop_on_nonfinite) {
  const std::int64_t global = samples_of(x);
  const distribute::Share share = distribute::share_of(global, strategy.num_replicas(), strategy.rank());
  const double fraction = static_cast<double>(share.size()) / static_cast<double>(global);
  ReplicaContextScope replica(&strategy);

  layers::StateUpdates staged;
  Tensor y_pred = m(share_rows(x, share),
                    layers::CallContext{.training = true, .staged = &staged, .first_sample = share.begin});
  // This replica's part of the global loss: its loss elements over the global count, its share of Σ losses().
  Tensor loss = (*m.loss_)(share_rows(y, share), y_pred, share_rows(sample_weight, share));
  if (m.loss_->reduction() != losses::Reduction::sum) loss = loss * fraction;
  for (const Tensor& extra : m.losses()) loss = loss + ops::cast(extra, loss.dtype()) * fraction;
  std::vector<double> value{loss.item()};
  strategy.all_reduce_sum(value);
  if (!std::isfinite(value[0]) && stop_on_nonfinite) return {value[0], false};  // every replica agrees

  for (const Variable& v : m.trained_) v.zero_grad();
  backward(loss);
  m.optimizer_->apply_gradients(summed_gradients(m.trained_, strategy), m.trained_);
  staged.commit();
  average_replica_local_state(m, strategy, static_cast<double>(share.size()), static_cast<double>(global));

  m.loss_sum_ += value[0] * static_cast<double>(global);
  m.loss_weight_ += static_cast<double>(global);
  m.update_metrics(y, gather_rows(strategy, detach(y_pred), global), sample_weight);
  return {value[0], std::isfinite(value[0])};
}

void DistributedTraining::test_step(Model& m, distribute::Strategy& strategy, const Tensor& x, const Tensor& y,
                                    const Tensor& sample_weight) {
  NoGrad no_grad;
  const std::int64_t global = samples_of(x);
  Tensor y_pred = predict_batch(m, strategy, x);
  Tensor loss = (*m.loss_)(y, y_pred, sample_weight);
  for (const Tensor& extra : m.losses()) loss = loss + ops::cast(extra, loss.dtype());
  m.loss_sum_ += loss.item() * static_cast<double>(global);
  m.loss_weight_ += static_cast<double>(global);
  m.update_metrics(y, y_pred, sample_weight);
}

Tensor DistributedTraining::predict_batch(Model& m, distribute::Strategy& strategy, const Tensor& x) {
  NoGrad no_grad;
  const distribute::Share share = distribute::share_of(samples_of(x), strategy.num_replicas(), strategy.rank());
  return gather_rows(strategy, m(share_rows(x, share), layers::CallContext{.training = false}), samples_of(x));
}

}  // namespace keel
