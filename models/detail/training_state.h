#pragma once
// What compile() sets up and fit, evaluate and the steps share: Model's private state
// (models/model.h keeps it behind a pointer, so the public header shows none of it).
#include <cstdint>
#include <memory>
#include <vector>

#include "keel/autograd/variable.h"
#include "keel/models/detail/call_guard.h"
#include "keel/models/detail/replica_group.h"
#include "keel/models/model.h"

namespace keel::models::detail {

struct TrainingState {
  bool compiled = false;
  std::shared_ptr<optim::Optimizer> optimizer;
  // Per output, in output_names order (one entry for a single-output model).
  std::vector<std::string> output_names;
  std::vector<std::shared_ptr<losses::Loss>> losses;
  std::vector<double> loss_weights;                         // empty: none given (no factor)
  std::vector<std::vector<MetricSpec>> metric_specs;
  std::vector<std::vector<std::shared_ptr<metrics::Metric>>> metrics;  // resolved at the first batch
  double loss_sum = 0, loss_weight = 0;  // the running, sample-weighted mean reported as "loss"
  // With several outputs: the running sums of each output's unweighted loss (weighted like loss_sum),
  // and this replica's parts of them from the last compute_loss, which track_loss adds.
  std::vector<double> output_loss_sums;
  std::vector<double> pending_output_losses;
  std::vector<Variable> trained;          // the weights trainable at compile time
  bool snapshot_taken = false;
  bool drop_nonfinite_steps = false;      // set by fit while a TerminateOnNaN is active
  // The replicas the current step is spread over, and the rows of its global batch.
  ReplicaGroup replicas;
  std::int64_t global_rows = 0, local_rows = 0;
  // Serializes calls from several threads; a call from another thread while fit runs is a UsageError.
  CallGuard calls;
};

}  // namespace keel::models::detail
