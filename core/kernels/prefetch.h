#pragma once
// Memory a kernel will read next, fetched into the caches a few lines at a time between blocks of the
// arithmetic it does now: step() after each block. A kernel that first copies or sweeps a piece of its
// input from memory and then computes on it in cache otherwise leaves memory idle while it computes and
// the FMA units idle while it reads, since the hardware prefetcher stops where a stream stops. Fetching a
// piece at once, or in a few large slices, measured no faster: the fetches must be spread thin. The
// non-temporal hint measured fastest of the three tried (core/kernels/depthwise_conv2d.cpp).
#include <algorithm>
#include <cstdint>

namespace keel::kernels {

class Prefetch {
 public:
  Prefetch() = default;
  // [begin, begin + bytes), over `steps` calls of step() (none when steps <= 0).
  Prefetch(const void* begin, std::int64_t bytes, std::int64_t steps) {
    if (bytes <= 0 || steps <= 0) return;
    begin_ = static_cast<const char*>(begin);
    lines_ = (bytes + kLine - 1) / kLine;
    per_step_ = (lines_ + steps - 1) / steps;
  }

  void step() {
    for (const std::int64_t end = std::min(lines_, next_ + per_step_); next_ < end; ++next_)
      __builtin_prefetch(begin_ + next_ * kLine, 0, 0);
  }

 private:
  static constexpr std::int64_t kLine = 64;
  const char* begin_ = nullptr;
  std::int64_t lines_ = 0, next_ = 0, per_step_ = 0;
};

}  // namespace keel::kernels
