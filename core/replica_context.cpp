#include "keel/core/replica_context.h"

#include <fmt/format.h>

#include "keel/core/error.h"

namespace keel {
namespace {
thread_local ReplicaContext* t_current = nullptr;

void check_gathered(std::size_t gathered, std::size_t local, int replicas, const char* op) {
  if (gathered != local * static_cast<std::size_t>(replicas))
    throw UsageError(fmt::format("ReplicaContext::{}: all_gather returned {} values for {} replicas of {}", op, gathered,
                                 replicas, local));
}
}  // namespace

void ReplicaContext::all_reduce_sum(std::span<double> data) {
  const int n = num_replicas();
  std::vector<double> all = all_gather(data);
  check_gathered(all.size(), data.size(), n, "all_reduce_sum");
  for (std::size_t i = 0; i < data.size(); ++i) {
    double s = 0;
    for (int r = 0; r < n; ++r) s += all[static_cast<std::size_t>(r) * data.size() + i];
    data[i] = s;
  }
}

std::vector<Moments> ReplicaContext::all_reduce_moments(std::span<const Moments> local) {
  const int n = num_replicas();
  std::vector<double> flat;
  flat.reserve(local.size() * 3);
  for (const Moments& m : local) flat.insert(flat.end(), {m.count, m.mean, m.m2});
  std::vector<double> all = all_gather(flat);
  check_gathered(all.size(), flat.size(), n, "all_reduce_moments");
  std::vector<Moments> out(local.size());
  for (int r = 0; r < n; ++r)
    for (std::size_t i = 0; i < local.size(); ++i) {
      const double* p = &all[(static_cast<std::size_t>(r) * local.size() + i) * 3];
      out[i] = combine_moments(out[i], Moments{p[0], p[1], p[2]});
    }
  return out;
}

ReplicaContext* current_replica_context() { return t_current; }

ReplicaContextScope::ReplicaContextScope(ReplicaContext* context) : previous_(t_current) { t_current = context; }
ReplicaContextScope::~ReplicaContextScope() { t_current = previous_; }

}  // namespace keel
