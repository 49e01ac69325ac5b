#pragma once
// The seam between layers that need cross-replica collectives (synchronized BatchNormalization,
// docs/semantics.md §1.10) and a distribution strategy. core declares it; a strategy implements it and installs
// one context per replica thread with ReplicaContextScope. Without one, code runs as a single replica.
//
// Every collective is called by all replicas in the same order (a replica that skips one deadlocks the
// others, as with any all-reduce). Results are identical on every replica and independent of timing:
// reductions combine the replicas' contributions in rank order.
#include <cstddef>
#include <span>
#include <vector>

#include "keel/core/moments.h"

namespace keel {

class ReplicaContext {
 public:
  virtual ~ReplicaContext() = default;
  virtual int num_replicas() const = 0;
  virtual int rank() const = 0;
  // Every replica's `local` (the same length on each), concatenated in rank order.
  virtual std::vector<double> all_gather(std::span<const double> local) = 0;

  // Element-wise sum over replicas, added in rank order; written back into `data`.
  void all_reduce_sum(std::span<double> data);
  // Per-group (count, mean, M2) combined over replicas with Chan's formula in rank order.
  std::vector<Moments> all_reduce_moments(std::span<const Moments> local);
};

// The context installed on this thread, or nullptr (a single replica).
ReplicaContext* current_replica_context();

// Installs `context` for the current thread while alive; restores the previous one afterwards.
class ReplicaContextScope {
 public:
  explicit ReplicaContextScope(ReplicaContext* context);
  ~ReplicaContextScope();
  ReplicaContextScope(const ReplicaContextScope&) = delete;
  ReplicaContextScope& operator=(const ReplicaContextScope&) = delete;

 private:
  ReplicaContext* previous_;
};

}  // namespace keel
