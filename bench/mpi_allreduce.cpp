// Cost of the gradient all-reduce on this machine and a ring projection (docs/distributed.md):
//   mpirun -np 2 keel_mpi_allreduce_bench [gradient_bytes] [compute_seconds_per_step]
// Times Strategy::all_reduce_buffer on float32 buffers (median of 15) from 4 KB to 16 MB and at the
// gradient's size. Two replicas give the per-hop latency a ≈ t(4 KB)/2 and the per-byte cost from
// t(n) = 2a + n·b at the gradient size; ring all-reduce over P replicas then costs
// t_P(n) = 2(P−1)·a + 2(P−1)/P·n·b, and a step that computes for c seconds scales with efficiency
// c / (c + t_P(n)) (constant per-replica batch, no overlap of communication with backward).
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <keel/keel.h>
#include <vector>

namespace {

double median_all_reduce_seconds(keel::distribute::Strategy& strategy, std::size_t bytes) {
  std::vector<float> buffer(std::max<std::size_t>(1, bytes / sizeof(float)), 1.0f);
  for (int warmup = 0; warmup < 3; ++warmup) strategy.all_reduce_buffer(buffer);
  std::vector<double> samples;
  for (int rep = 0; rep < 15; ++rep) {
    strategy.barrier();
    auto start = std::chrono::steady_clock::now();
    strategy.all_reduce_buffer(buffer);
    samples.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(samples.begin(), samples.end());
  return samples[samples.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  keel::distribute::MpiStrategy strategy;
  const auto gradient_bytes = static_cast<std::size_t>(argc > 1 ? std::atof(argv[1]) : 901928);
  const double compute_seconds = argc > 2 ? std::atof(argv[2]) : 0;
  const bool chief = strategy.is_chief();
  for (std::size_t bytes = 4096; bytes <= (16u << 20); bytes *= 4) {
    const double t = median_all_reduce_seconds(strategy, bytes);
    if (chief) fmt::print("{:>10} bytes  {:9.1f} us  {:6.2f} GB/s\n", bytes, t * 1e6, static_cast<double>(bytes) / t / 1e9);
  }
  const double latency = median_all_reduce_seconds(strategy, 4096) / 2;  // per hop
  const double t2 = median_all_reduce_seconds(strategy, gradient_bytes);
  const double per_byte = std::max(0.0, t2 - 2 * latency) / static_cast<double>(gradient_bytes);
  if (!chief || strategy.num_replicas() != 2) return 0;
  fmt::print("gradient of {} bytes: {:.1f} us over 2 replicas; per hop {:.2f} us + {:.3f} ns/byte ({:.2f} GB/s)\n",
             gradient_bytes, t2 * 1e6, latency * 1e6, per_byte * 1e9, 1 / per_byte / 1e9);
  for (int p : {2, 8, 64}) {
    const double t = 2.0 * (p - 1) * latency + 2.0 * (p - 1) / p * static_cast<double>(gradient_bytes) * per_byte;
    fmt::print("ring all-reduce over {:>2} replicas: {:8.1f} us", p, t * 1e6);
    if (compute_seconds > 0) fmt::print("  scaling efficiency {:5.1f}%", 100 * compute_seconds / (compute_seconds + t));
    fmt::print("\n");
  }
  return 0;
}
