#pragma once
// Max pooling's running maximum, as Keras/TF compute it: a value replaces the maximum m when it is larger,
// or when it is NaN and m is not, so a window holding a NaN gives its first NaN.
#include <cstdint>
#include <type_traits>

#include "keel/core/kernels/simd.h"

namespace keel::kernels {

template <class T>
inline bool replaces_max(T v, T m) {
  return !(v <= m) && m == m;
}

// The same rule lane by lane on native vectors, with compares and bit selects.
template <class T>
inline typename NativeSimd<T>::V running_max(typename NativeSimd<T>::V m, typename NativeSimd<T>::V v) {
  using F = typename NativeSimd<T>::V;
  using B = typename NativeSimd<std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>>::V;
  const B take = (B)(~(v <= m) & (m == m));
  return (F)(((B)v & take) | ((B)m & ~take));
}

}  // namespace keel::kernels
