#pragma once
// A 64-byte SIMD vector of T as a GCC vector extension (lowered to narrower vectors where the ISA has
// none), with unaligned loads and stores. Arithmetic mixes vectors and scalars (a scalar broadcasts),
// so one generic term `a += load_as<U>(p) - s` serves both a vector U and a scalar U.
#include <cstdint>

namespace keel::kernels {

template <class T>
struct Simd {
  typedef T V __attribute__((vector_size(64)));
  static constexpr std::int64_t lanes = 64 / sizeof(T);
};

template <class U, class T>
inline U load_as(const T* p) {
  U v;
  __builtin_memcpy(&v, p, sizeof(U));
  return v;
}

template <class U, class T>
inline void store_as(T* p, const U& v) {
  __builtin_memcpy(p, &v, sizeof(U));
}

}  // namespace keel::kernels
