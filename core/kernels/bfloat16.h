#pragma once
// bfloat16 rounding for keel's mixed_bfloat16 policy (docs/mixed_precision.md): values keep their
// float32 storage and lose the 16 low bits of their significand.
#include <cstdint>
#include <cstring>

namespace keel::kernels {

// The bits of the bfloat16 nearest to the float with bits `u`, as a float's bits (low half zero): ties go
// to the even significand, as TensorFlow's and PyTorch's float-to-bfloat16 casts round. Finite values past
// bfloat16's largest (about 3.39e38) round to infinity; a NaN stays a NaN (its quiet bit set, so the
// truncated significand cannot become zero) and keeps its sign.
inline std::uint32_t bfloat16_rounded_bits(std::uint32_t u) {
  const bool nan = (u & 0x7FFFFFFFu) > 0x7F800000u;
  const std::uint32_t rounded = (u + 0x7FFFu + ((u >> 16) & 1u)) & 0xFFFF0000u;
  return nan ? ((u | 0x00400000u) & 0xFFFF0000u) : rounded;
}

inline float round_to_bfloat16(float x) {
  std::uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  u = bfloat16_rounded_bits(u);
  std::memcpy(&x, &u, sizeof u);
  return x;
}

// y[i] = round_to_bfloat16(x[i]) for i < n, split over the worker threads; y may be x.
void round_to_bfloat16(const float* x, float* y, std::int64_t n);

}  // namespace keel::kernels
