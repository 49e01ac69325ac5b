// Cost of the gradient all-reduce on this machine (docs/distributed.md): run under
// `mpirun -np 2 keel_mpi_allreduce_bench`. Times Strategy::all_reduce_buffer on float32 buffers from 4 KB
// to 16 MB, fits t(n) = a + b·n (latency a, seconds per byte b) by least squares, and projects ring
// all-reduce to P replicas, t_P(n) = 2(P−1)·a' + 2(P−1)/P·n·b', with a' and b' the per-hop costs that a
// two-replica ring implies (t_2(n) = 2a' + n·b').
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <keel/keel.h>
#include <vector>

int main(int argc, char** argv) {
  keel::distribute::MpiStrategy strategy;
  const double gradient_bytes = argc > 1 ? std::atof(argv[1]) : 0;  // a model's gradient size for the projection
  std::vector<double> sizes, times;
  for (std::size_t bytes = 4096; bytes <= (16u << 20); bytes *= 4) {
    std::vector<float> buffer(bytes / sizeof(float), 1.0f);
    for (int warmup = 0; warmup < 3; ++warmup) strategy.all_reduce_buffer(buffer);
    std::vector<double> samples;
    for (int rep = 0; rep < 15; ++rep) {
      strategy.barrier();
      auto start = std::chrono::steady_clock::now();
      strategy.all_reduce_buffer(buffer);
      samples.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    std::sort(samples.begin(), samples.end());
    const double median = samples[samples.size() / 2];
    sizes.push_back(static_cast<double>(bytes));
    times.push_back(median);
    if (strategy.is_chief())
      fmt::print("{:>10} bytes  {:9.1f} us  {:7.2f} GB/s\n", bytes, median * 1e6, static_cast<double>(bytes) / median / 1e9);
  }
  // Least squares t = a + b·n.
  const double k = static_cast<double>(sizes.size());
  double sn = 0, st = 0, snn = 0, snt = 0;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    sn += sizes[i], st += times[i], snn += sizes[i] * sizes[i], snt += sizes[i] * times[i];
  }
  const double b = (k * snt - sn * st) / (k * snn - sn * sn), a = (st - b * sn) / k;
  if (!strategy.is_chief()) return 0;
  fmt::print("fit over {} replicas: latency {:.1f} us, {:.3f} ns per byte ({:.2f} GB/s)\n", strategy.num_replicas(),
             a * 1e6, b * 1e9, 1 / b / 1e9);
  if (gradient_bytes > 0 && strategy.num_replicas() == 2) {
    const double hop_latency = a / 2, hop_per_byte = b;  // t_2(n) = 2a' + n·b'
    for (int p : {2, 8, 64}) {
      const double t = 2.0 * (p - 1) * hop_latency + 2.0 * (p - 1) / p * gradient_bytes * hop_per_byte;
      fmt::print("ring all-reduce of {:.0f} bytes over {:>2} replicas: {:8.1f} us\n", gradient_bytes, p, t * 1e6);
    }
  }
  return 0;
}
