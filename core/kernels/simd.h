#pragma once
// A 64-byte SIMD vector of T as a GCC vector extension (lowered to narrower vectors where the ISA has
// none), with unaligned loads and stores. Arithmetic mixes vectors and scalars (a scalar broadcasts),
// so one generic term `a += load_as<U>(p) - s` serves both a vector U and a scalar U.
#include <cstdint>
#include <type_traits>

namespace keel::kernels {

template <class T>
struct Simd {
  typedef T V __attribute__((vector_size(64)));
  // The same vector at T's alignment, for unaligned access through a typed pointer: unlike memcpy, a
  // store through it cannot alias pointers or other non-T objects, so callers' pointers stay in registers.
  typedef T Unaligned __attribute__((vector_size(64), aligned(alignof(T))));
  static constexpr std::int64_t lanes = 64 / sizeof(T);
};

// U is T or Simd<T>::V.
template <class U, class T>
inline U load_as(const T* p) {
  if constexpr (std::is_same_v<U, T>)
    return *p;
  else
    return *reinterpret_cast<const typename Simd<T>::Unaligned*>(p);
}

template <class U, class T>
inline void store_as(T* p, const U& v) {
  if constexpr (std::is_same_v<U, T>)
    *p = v;
  else
    *reinterpret_cast<typename Simd<T>::Unaligned*>(p) = v;
}

}  // namespace keel::kernels
