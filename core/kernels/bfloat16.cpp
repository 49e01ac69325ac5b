#include "keel/core/kernels/bfloat16.h"

#include "keel/core/parallel.h"

namespace keel::kernels {
namespace {

// Whole integer lanes keep the loop free of float conversions, so GCC vectorizes it as integer adds,
// shifts, masks and one blend.
void round_span(const float* x, float* y, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) {
    std::uint32_t u;
    std::memcpy(&u, x + i, sizeof u);
    u = bfloat16_rounded_bits(u);
    std::memcpy(y + i, &u, sizeof u);
  }
}

}  // namespace

void round_to_bfloat16(const float* x, float* y, std::int64_t n) {
  constexpr std::int64_t kGrain = 1 << 16;
  if (n <= kGrain) return round_span(x, y, n);
  parallel::for_each_chunk(0, n, kGrain, [&](std::int64_t, std::int64_t b, std::int64_t e) { round_span(x + b, y + b, e - b); });
}

}  // namespace keel::kernels
