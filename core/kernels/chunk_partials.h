#pragma once
// Deterministic parallel sums: each fixed-size chunk writes its own partial, and the partials are
// added in chunk order afterwards, so the result does not depend on which thread ran what.
#include <algorithm>
#include <cstdint>
#include <vector>

namespace keel::kernels {

// Sums chunk partials [chunks][count] in chunk order into out.
template <class T>
void sum_partials(const T* partials, std::int64_t chunks, std::int64_t count, T* out) {
  std::copy_n(partials, count, out);
  for (std::int64_t c = 1; c < chunks; ++c) {
    const T* part = partials + c * count;
    for (std::int64_t i = 0; i < count; ++i) out[i] += part[i];
  }
}

template <class T>
void sum_partials(const std::vector<T>& partials, std::int64_t chunks, std::int64_t count, T* out) {
  sum_partials(partials.data(), chunks, count, out);
}

}  // namespace keel::kernels
