#pragma once
// NumPy's legacy shuffle, numpy.random.RandomState(seed).shuffle, which Keras's index_directory uses to
// order files before splitting off validation data. Reproducing it exactly gives keel Keras's split.
#include <cstdint>
#include <vector>

namespace keel::data::detail {

// The permutation RandomState(seed).permutation(n) returns: MT19937 seeded by init_genrand(seed) (as
// RandomState seeds from an integer), then for i = n-1 down to 1, j = a draw in [0, i] by masked
// rejection on 32-bit outputs (NumPy's random_interval), and elements i and j swapped. ValueError for
// a seed above 2^32 - 1 (NumPy refuses those too) or n < 0.
std::vector<std::int64_t> numpy_legacy_permutation(std::int64_t n, std::uint64_t seed);

}  // namespace keel::data::detail
