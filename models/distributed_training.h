#pragma once
// Model's fit, evaluate and predict under a multi-replica distribute::Strategy (docs/design.md#scale-out,
// docs/distributed.md). model.cpp hands a step to these functions when the current strategy has more
// than one replica; everything here holds on every replica, in the same order, so collectives match.
//
// A step on a global batch of B samples: replica r computes rows share_of(B, R, r) (n_r of them) and
// scales its loss by n_r / B (the compiled loss by 1 under Reduction::sum), so the sum over replicas of
// its gradients, summed by bucketed all-reduce, is the gradient of the global batch. Synchronized
// BatchNormalization all-reduces through the strategy (installed as the ReplicaContext); the moving
// statistics of unsynchronized BatchNormalization are averaged over replicas weighted by n_r after the
// update. Loss and metrics are those of the global batch.
#include <cstdint>

#include "keel/core/strategy.h"
#include "keel/models/model.h"

namespace keel {

class DistributedTraining {
 public:
  // At the start of fit, after the model is built: checks that every replica runs the same model on the
  // same amount of data (ValueError on every replica naming the differing ranks otherwise), copies rank
  // 0's weights to every replica, aligns keel's global random stream with rank 0's (shuffling and
  // unseeded Dropout draw the same numbers everywhere), and silences the progress bar off rank 0.
  static void begin_fit(Model& model, distribute::Strategy& strategy, std::int64_t train_samples,
                        std::int64_t validation_samples, FitOptions& options);

  static Model::BatchResult train_step(Model& model, distribute::Strategy& strategy, const Tensor& x, const Tensor& y,
                                       const Tensor& sample_weight, bool stop_on_nonfinite);
  static void test_step(Model& model, distribute::Strategy& strategy, const Tensor& x, const Tensor& y,
                        const Tensor& sample_weight);
  // Every replica returns the whole prediction.
  static Tensor predict_batch(Model& model, distribute::Strategy& strategy, const Tensor& x);
};

// The strategy model.cpp runs a step under: the current one when it has several replicas, else null.
distribute::Strategy* multi_replica_strategy();

}  // namespace keel
