#pragma once
// Seeded, counter-based random numbers (Philox-4x32-10): element i of a draw depends only on the
// seed and i, never on the thread count or on how the work is split.
#include <cstdint>

#include "keel/core/tensor.h"

namespace keel {

// Seeds everything random that has no seed of its own.
void set_random_seed(std::uint64_t seed);

namespace random {

// A fresh seed from the global stream (set_random_seed makes the sequence reproducible).
std::uint64_t next_seed();

// Element i draws counter first_element + i, as bernoulli's do.
Tensor normal(const Shape& shape, double mean, double stddev, std::uint64_t seed, DType dtype = DType::float32,
              std::uint64_t first_element = 0);
Tensor uniform(const Shape& shape, double low, double high, std::uint64_t seed, DType dtype = DType::float32);
// Normal draws beyond two standard deviations are redrawn (Keras's truncated normal).
Tensor truncated_normal(const Shape& shape, double mean, double stddev, std::uint64_t seed,
                        DType dtype = DType::float32);
// 1 with probability p, else 0 (in `dtype`; bool gives true/false). Element i draws counter
// first_element + i, so a slice of a larger draw can be produced on its own.
Tensor bernoulli(const Shape& shape, double p, std::uint64_t seed, DType dtype = DType::float32,
                 std::uint64_t first_element = 0);

// The underlying generator: four 32-bit words for (seed, counter).
struct Philox4x32 {
  static void generate(std::uint64_t seed, std::uint64_t counter_lo, std::uint64_t counter_hi, std::uint32_t out[4]);
};

}  // namespace random
}  // namespace keel
