#pragma once
// The replicas one step of fit, evaluate or predict is spread over (docs/design.md#scale-out,
// docs/distributed.md): the hook the trainer calls, so the same train_step runs in one process and on
// each replica of a distribute::Strategy. Without a multi-replica strategy every call is the identity.
//
// A step on a global batch of B samples: replica r computes rows share_of(B, R, r) (n_r of them) and
// scales its loss by n_r / B (the compiled loss by 1 under Reduction::sum), so the sum over replicas of
// its gradients, summed by bucketed all-reduce, is the gradient of the global batch. Synchronized
// BatchNormalization all-reduces through the strategy (installed as the ReplicaContext); the moving
// statistics of unsynchronized BatchNormalization are averaged over replicas weighted by n_r after the
// update. Loss and metrics are those of the global batch.
#include <cstdint>
#include <vector>

#include "keel/autograd/variable.h"
#include "keel/core/strategy.h"
#include "keel/models/model.h"

namespace keel::models::detail {

class ReplicaGroup {
 public:
  ReplicaGroup() = default;  // one process
  // The current strategy's replicas when there are several; else one process.
  static ReplicaGroup current();

  bool distributed() const { return strategy_ != nullptr; }
  int rank() const;

  // At the start of fit, after the model is built: checks that every replica runs the same model on the
  // same amount of data (ValueError on every replica naming the differing ranks otherwise), copies rank
  // 0's weights to every replica, aligns keel's global random stream with rank 0's (shuffling and
  // unseeded Dropout draw the same numbers everywhere), and silences the progress bar off rank 0.
  void begin_fit(Model& model, std::int64_t train_samples, std::int64_t validation_samples,
                 FitOptions& options) const;

  // This replica's rows of a global batch.
  Batch local_batch(const Batch& global) const;
  // This replica's rows of a global input.
  Tensor local_rows(const Tensor& x) const;
  // The replicas' rows of `local` concatenated in rank order: the global batch's rows, in its order.
  Tensor gather_rows(const Tensor& local, std::int64_t global_rows) const;
  // Σ over replicas.
  double sum(double value) const;
  // Every trainable weight's gradient summed over replicas (bucketed). A gradient no replica produced
  // stays undefined, as in one process; one that only some replicas produced counts as zero elsewhere.
  std::vector<Tensor> summed_gradients(const std::vector<Variable>& trained) const;
  // Each replica-local statistic (unsynchronized BatchNormalization's moving mean and variance) becomes
  // Σ_r n_r·value_r / B (a replica without samples weighs nothing).
  void average_replica_local_state(const Model& model, std::int64_t local_rows, std::int64_t global_rows) const;

  distribute::Strategy* strategy() const { return strategy_; }

 private:
  explicit ReplicaGroup(distribute::Strategy* strategy) : strategy_(strategy) {}
  distribute::Strategy* strategy_ = nullptr;
};

}  // namespace keel::models::detail
