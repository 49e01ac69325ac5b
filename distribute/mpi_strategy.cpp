#include "keel/distribute/mpi_strategy.h"

#include <fmt/format.h>
#include <mpi.h>

#include <climits>

#include "keel/core/error.h"

namespace keel::distribute {

struct MpiStrategy::Impl {
  MPI_Comm comm = MPI_COMM_NULL;
  int rank = 0;
  int size = 1;
  bool owns_mpi = false;

  // An MPI return code other than MPI_SUCCESS becomes a keel::Error naming the call and the rank.
  void check(int code, const char* op) const {
    if (code == MPI_SUCCESS) return;
    char text[MPI_MAX_ERROR_STRING];
    int length = 0;
    MPI_Error_string(code, text, &length);
    throw Error(fmt::format("MpiStrategy::{}: rank {} of {}: MPI error: {}", op, rank, size,
                            std::string_view(text, static_cast<std::size_t>(length))));
  }
};

namespace {

int checked_count(std::size_t n, const char* op) {
  if (n > static_cast<std::size_t>(INT_MAX))
    throw ValueError(fmt::format("MpiStrategy::{}: {} elements exceed MPI's int count", op, n));
  return static_cast<int>(n);
}

}  // namespace

MpiStrategy::MpiStrategy() : impl_(std::make_unique<Impl>()) {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (finalized) throw UsageError("MpiStrategy: MPI was already finalized; create one strategy for the whole program");
  if (!initialized) {
    int provided = 0;
    if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
      throw Error("MpiStrategy: MPI_Init_thread failed");
    impl_->owns_mpi = true;
  }
  impl_->check(MPI_Comm_dup(MPI_COMM_WORLD, &impl_->comm), "MPI_Comm_dup");
  impl_->check(MPI_Comm_set_errhandler(impl_->comm, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
  impl_->check(MPI_Comm_rank(impl_->comm, &impl_->rank), "MPI_Comm_rank");
  impl_->check(MPI_Comm_size(impl_->comm, &impl_->size), "MPI_Comm_size");
}

MpiStrategy::~MpiStrategy() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (finalized) return;
  if (impl_->comm != MPI_COMM_NULL) MPI_Comm_free(&impl_->comm);
  if (impl_->owns_mpi) MPI_Finalize();
}

int MpiStrategy::num_replicas() const { return impl_->size; }
int MpiStrategy::rank() const { return impl_->rank; }

std::vector<double> MpiStrategy::all_gather(std::span<const double> local) {
  const int n = checked_count(local.size(), "all_gather");
  std::vector<double> all(local.size() * static_cast<std::size_t>(impl_->size));
  impl_->check(MPI_Allgather(local.data(), n, MPI_DOUBLE, all.data(), n, MPI_DOUBLE, impl_->comm), "all_gather");
  return all;
}

void MpiStrategy::broadcast(std::span<std::byte> data, int root) {
  impl_->check(MPI_Bcast(data.data(), checked_count(data.size(), "broadcast"), MPI_BYTE, root, impl_->comm),
               "broadcast");
}

void MpiStrategy::barrier() { impl_->check(MPI_Barrier(impl_->comm), "barrier"); }

void MpiStrategy::all_reduce_sum_in_place(std::span<float> data) {
  impl_->check(MPI_Allreduce(MPI_IN_PLACE, data.data(), checked_count(data.size(), "all_reduce"), MPI_FLOAT, MPI_SUM,
                             impl_->comm),
               "all_reduce");
}

void MpiStrategy::all_reduce_sum_in_place(std::span<double> data) {
  impl_->check(MPI_Allreduce(MPI_IN_PLACE, data.data(), checked_count(data.size(), "all_reduce"), MPI_DOUBLE, MPI_SUM,
                             impl_->comm),
               "all_reduce");
}

}  // namespace keel::distribute
