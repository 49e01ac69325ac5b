#pragma once
// Data parallelism over MPI: one process per replica, launched with `mpirun -np N program`
// (docs/distributed.md). Built only when CMake finds MPI (KEEL_WITH_MPI is then defined for users of
// keel::keel); mpi.h stays out of this header.
//
// Collectives run on a private duplicate of MPI_COMM_WORLD with MPI_ERRORS_RETURN, so an MPI failure
// is a keel::Error naming the operation and this rank rather than an abort deep inside MPI. A rank that
// dies makes mpirun end the whole job (non-zero exit, naming the rank) within about a second.
#include <memory>

#include "keel/core/strategy.h"

namespace keel::distribute {

class MpiStrategy final : public Strategy {
 public:
  // Initializes MPI (thread level MPI_THREAD_FUNNELED: only the thread that runs fit calls MPI) unless
  // the program already did; finalizes it on destruction when this strategy initialized it. A strategy
  // created after MPI was finalized is a UsageError.
  MpiStrategy();
  ~MpiStrategy() override;
  MpiStrategy(const MpiStrategy&) = delete;
  MpiStrategy& operator=(const MpiStrategy&) = delete;

  int num_replicas() const override;
  int rank() const override;
  // MPI_Allgather: rank order, so every replica combines the same values in the same order.
  std::vector<double> all_gather(std::span<const double> local) override;
  void broadcast(std::span<std::byte> data, int root) override;
  void barrier() override;

 protected:
  void all_reduce_sum_in_place(std::span<float> data) override;
  void all_reduce_sum_in_place(std::span<double> data) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace keel::distribute
