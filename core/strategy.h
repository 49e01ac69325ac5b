#pragma once
// How fit, evaluate and predict spread a global batch over replicas (docs/design.md#scale-out). core
// declares the interface and the single-replica default; distribute/ implements it over MPI
// (distribute/mpi_strategy.h, built when MPI is found). models/ runs under the strategy of the
// innermost StrategyScope on the calling thread:
//
//   keel::distribute::MpiStrategy strategy;          // one process per replica, under mpirun
//   keel::distribute::StrategyScope scope(strategy);
//   model->fit(x, y, {.batch_size = 256});           // 256 is the global batch
//
// A Strategy is also the ReplicaContext that synchronized BatchNormalization all-reduces through.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "keel/core/replica_context.h"
#include "keel/core/tensor.h"

namespace keel::distribute {

// Rows [begin, end) of a global batch that one replica computes.
struct Share {
  std::int64_t begin = 0;
  std::int64_t end = 0;
  std::int64_t size() const { return end - begin; }
};

// Contiguous shares in rank order whose sizes differ by at most one (the first global_batch % replicas
// ranks get one more); a rank beyond the batch gets an empty share. ValueError for replicas < 1, a rank
// outside [0, replicas) or a negative batch.
Share share_of(std::int64_t global_batch, int replicas, int rank);

// What the transport's bulk all-reduce has done since construction (the measurements in
// docs/distributed.md).
struct CollectiveStats {
  std::int64_t calls = 0;
  std::int64_t bytes = 0;
  double seconds = 0;
};

class Strategy : public ReplicaContext {
 public:
  // Rank 0 alone prints progress and writes files.
  bool is_chief() const { return rank() == 0; }

  // Element-wise sum over replicas in place through the transport's own all-reduce (ring or tree,
  // chosen by message size): the same result on every replica, in an order the transport fixes.
  // For gradients; the small deterministic reductions go through ReplicaContext::all_reduce_sum.
  void all_reduce_buffer(std::span<float> data);
  void all_reduce_buffer(std::span<double> data);
  // Sums float32/float64 tensors over replicas, packed into buckets of at most `bucket_bytes` per
  // dtype, so a step makes a few large calls rather than one per tensor. Returns new tensors.
  std::vector<Tensor> all_reduce_tensors(const std::vector<Tensor>& tensors, std::size_t bucket_bytes = 8u << 20);
  // Every replica's `local` in rank order, where the lengths may differ; `counts` (if given) receives
  // each replica's length.
  std::vector<double> all_gather_varying(std::span<const double> local, std::vector<std::int64_t>* counts = nullptr);
  // Copies root's bytes to every replica (the same length everywhere).
  virtual void broadcast(std::span<std::byte> data, int root) = 0;
  virtual void barrier() = 0;

  const CollectiveStats& all_reduce_stats() const { return stats_; }

 protected:
  virtual void all_reduce_sum_in_place(std::span<float> data) = 0;
  virtual void all_reduce_sum_in_place(std::span<double> data) = 0;

 private:
  CollectiveStats stats_;
};

// One replica: every collective is the identity. The strategy in force when no scope is active.
class SingleReplicaStrategy final : public Strategy {
 public:
  int num_replicas() const override { return 1; }
  int rank() const override { return 0; }
  std::vector<double> all_gather(std::span<const double> local) override { return {local.begin(), local.end()}; }
  void broadcast(std::span<std::byte>, int) override {}
  void barrier() override {}

 protected:
  void all_reduce_sum_in_place(std::span<float>) override {}
  void all_reduce_sum_in_place(std::span<double>) override {}
};

// The strategy of the innermost StrategyScope on this thread, else the single-replica default.
Strategy& current_strategy();

// Runs fit/evaluate/predict/save on this thread under `strategy` while alive.
class StrategyScope {
 public:
  explicit StrategyScope(Strategy& strategy);
  ~StrategyScope();
  StrategyScope(const StrategyScope&) = delete;
  StrategyScope& operator=(const StrategyScope&) = delete;

 private:
  Strategy* previous_;
};

}  // namespace keel::distribute
