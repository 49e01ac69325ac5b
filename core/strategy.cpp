#include "keel/core/strategy.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include "keel/core/error.h"

namespace keel::distribute {
namespace {

thread_local Strategy* t_current = nullptr;

template <class T>
void timed_all_reduce(std::span<T> data, CollectiveStats& stats, const auto& reduce) {
  const auto start = std::chrono::steady_clock::now();
  reduce(data);
  stats.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  stats.calls += 1;
  stats.bytes += static_cast<std::int64_t>(data.size_bytes());
}

// Packs the tensors of one dtype into buckets, all-reduces each bucket and unpacks into `out`.
template <class T>
void all_reduce_bucketed(const std::vector<Tensor>& tensors, DType dtype, std::size_t bucket_bytes,
                         std::vector<Tensor>& out, const auto& reduce) {
  const std::size_t per_bucket = std::max<std::size_t>(1, bucket_bytes / sizeof(T));
  std::vector<T> bucket;
  std::vector<std::size_t> members;  // tensor indices packed in the current bucket
  auto flush = [&] {
    if (members.empty()) return;
    reduce(std::span<T>(bucket));
    std::size_t offset = 0;
    for (std::size_t i : members) {
      const auto n = static_cast<std::size_t>(tensors[i].numel());
      std::memcpy(out[i].data<T>(), bucket.data() + offset, n * sizeof(T));
      offset += n;
    }
    bucket.clear();
    members.clear();
  };
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    if (tensors[i].dtype() != dtype) continue;
    const Tensor t = tensors[i].contiguous();
    const auto n = static_cast<std::size_t>(t.numel());
    if (!bucket.empty() && bucket.size() + n > per_bucket) flush();
    bucket.insert(bucket.end(), t.data<T>(), t.data<T>() + n);
    members.push_back(i);
    out[i] = Tensor::empty(t.shape(), dtype);
  }
  flush();
}

}  // namespace

Share share_of(std::int64_t global_batch, int replicas, int rank) {
  if (replicas < 1 || rank < 0 || rank >= replicas || global_batch < 0)
    throw ValueError(fmt::format("share_of: needs replicas >= 1, 0 <= rank < replicas and global_batch >= 0; got "
                                 "global_batch {}, replicas {}, rank {}",
                                 global_batch, replicas, rank));
  const std::int64_t base = global_batch / replicas, extra = global_batch % replicas;
  const std::int64_t begin = rank * base + std::min<std::int64_t>(rank, extra);
  return {begin, begin + base + (rank < extra ? 1 : 0)};
}

void Strategy::all_reduce_buffer(std::span<float> data) {
  timed_all_reduce(data, stats_, [this](std::span<float> d) { all_reduce_sum_in_place(d); });
}

void Strategy::all_reduce_buffer(std::span<double> data) {
  timed_all_reduce(data, stats_, [this](std::span<double> d) { all_reduce_sum_in_place(d); });
}

std::vector<Tensor> Strategy::all_reduce_tensors(const std::vector<Tensor>& tensors, std::size_t bucket_bytes) {
  for (const Tensor& t : tensors)
    if (!t.defined() || (t.dtype() != DType::float32 && t.dtype() != DType::float64))
      throw ValueError(fmt::format("all_reduce_tensors: every tensor must be a defined float32 or float64 tensor, got {}",
                                   t.defined() ? dtype_name(t.dtype()) : "an undefined tensor"));
  std::vector<Tensor> out(tensors.size());
  all_reduce_bucketed<float>(tensors, DType::float32, bucket_bytes, out,
                             [this](std::span<float> d) { all_reduce_buffer(d); });
  all_reduce_bucketed<double>(tensors, DType::float64, bucket_bytes, out,
                              [this](std::span<double> d) { all_reduce_buffer(d); });
  return out;
}

std::vector<double> Strategy::all_gather_varying(std::span<const double> local, std::vector<std::int64_t>* counts) {
  const double mine = static_cast<double>(local.size());
  std::vector<double> sizes = all_gather(std::span<const double>(&mine, 1));
  const auto longest = static_cast<std::size_t>(*std::max_element(sizes.begin(), sizes.end()));
  std::vector<double> padded(local.begin(), local.end());
  padded.resize(longest, 0.0);
  std::vector<double> all = all_gather(padded);
  std::vector<double> out;
  for (std::size_t r = 0; r < sizes.size(); ++r) {
    const double* begin = all.data() + r * longest;
    out.insert(out.end(), begin, begin + static_cast<std::size_t>(sizes[r]));
  }
  if (counts) {
    counts->clear();
    for (double s : sizes) counts->push_back(static_cast<std::int64_t>(s));
  }
  return out;
}

Strategy& current_strategy() {
  static SingleReplicaStrategy single;
  return t_current ? *t_current : single;
}

StrategyScope::StrategyScope(Strategy& strategy) : previous_(t_current) { t_current = &strategy; }
StrategyScope::~StrategyScope() { t_current = previous_; }

}  // namespace keel::distribute
