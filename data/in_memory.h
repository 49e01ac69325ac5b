#pragma once
// Index-level helpers for in-memory datasets: seeded shuffling, Keras's validation split and batching.
#include <cstdint>
#include <utility>
#include <vector>

namespace keel::data {

// A permutation of 0..n-1 by Fisher–Yates driven by std::mt19937_64 seeded with `seed`. Both the
// generator and the way a draw becomes an index are fixed here, not left to the standard library
// (std::uniform_int_distribution differs between implementations): for i = n-1 down to 1, j is drawn
// uniformly from [0, i] by rejection — a 64-bit draw r is accepted when r < 2^64 - (2^64 mod (i+1)) and
// j = r mod (i+1) — and elements i and j are swapped. So one seed gives one permutation on every
// machine and compiler. ValueError when n < 0.
std::vector<std::int64_t> shuffled_indices(std::int64_t n, std::uint64_t seed);

// Half-open index ranges [train_begin, train_end) and [val_begin, val_end).
struct Split {
  std::int64_t train_begin, train_end, val_begin, val_end;
};

// Keras 3's validation_split (keras/src/trainers/data_adapters/array_slicing.py,
// train_validation_split): the split point is floor(n · (1 − fraction)); the samples before it train,
// the last ones validate. fraction = 0 means no validation samples. ValueError when fraction is
// outside [0, 1) or NaN, when n < 0, and — as in Keras — when a positive fraction leaves either side
// empty.
Split split_last_fraction(std::int64_t n, double fraction);

// Consecutive [begin, end) ranges of batch_size samples covering 0..n-1; the last partial batch is
// kept. ValueError when batch_size <= 0 or n < 0.
std::vector<std::pair<std::int64_t, std::int64_t>> batch_ranges(std::int64_t n, std::int64_t batch_size);

}  // namespace keel::data
