#pragma once
// Internal to core/kernels: one 64-byte vector through GCC/Clang vector extensions (an AVX-512
// register here, two halves on AVX2), for the loops the auto-vectorizer leaves scalar.
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace keel::kernels::simd {

typedef float FloatVec __attribute__((vector_size(64)));
typedef double DoubleVec __attribute__((vector_size(64)));
typedef std::uint32_t Bits32Vec __attribute__((vector_size(64)));
typedef std::uint64_t Bits64Vec __attribute__((vector_size(64)));

template <class T>
using Vec = std::conditional_t<std::is_same_v<T, float>, FloatVec, DoubleVec>;
// The same lanes as unsigned integers of T's width, for bitwise compares and selects.
template <class T>
using BitsVec = std::conditional_t<sizeof(T) == 4, Bits32Vec, Bits64Vec>;

template <class T>
constexpr std::int64_t kLanes = 64 / static_cast<std::int64_t>(sizeof(T));

// Unaligned load and store of any 64-byte vector type V from or to elements of type T.
template <class V, class T>
V load(const T* p) {
  V v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <class V, class T>
void store(T* p, V v) {
  static_assert(sizeof(V) == 64);
  std::memcpy(p, &v, sizeof v);
}

}  // namespace keel::kernels::simd
