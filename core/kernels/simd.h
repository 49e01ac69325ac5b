#pragma once
// A 64-byte SIMD vector of T as a GCC vector extension (lowered to narrower vectors where the ISA has
// none), with unaligned loads and stores. Arithmetic mixes vectors and scalars (a scalar broadcasts),
// so one generic term `a += load_as<U>(p) - s` serves both a vector U and a scalar U.
#include <cstdint>
#include <type_traits>
#if defined(__SSE2__)
#include <immintrin.h>
#endif

namespace keel::kernels {

template <class T>
struct Simd {
  typedef T V __attribute__((vector_size(64)));
  // The same vector at T's alignment, for unaligned access through a typed pointer: unlike memcpy, a
  // store through it cannot alias pointers or other non-T objects, so callers' pointers stay in registers.
  typedef T Unaligned __attribute__((vector_size(64), aligned(alignof(T))));
  static constexpr std::int64_t lanes = 64 / sizeof(T);
};

// The widest vector one register of the build's ISA holds (64 bytes with AVX-512, 32 with AVX, else 16),
// for loops whose lanes never meet: each lane computes its own outputs in a fixed order, so the width
// cannot change a result, while 64-byte vectors lowered to halves get spilled in such loops' register-heavy
// bodies. Loops that fold lanes together keep Simd<T>.
#if defined(__AVX512F__)
inline constexpr int kNativeVectorBytes = 64;
#elif defined(__AVX__)
inline constexpr int kNativeVectorBytes = 32;
#else
inline constexpr int kNativeVectorBytes = 16;
#endif

template <class T>
struct NativeSimd {
  typedef T V __attribute__((vector_size(kNativeVectorBytes)));
  typedef T Unaligned __attribute__((vector_size(kNativeVectorBytes), aligned(alignof(T))));
  static constexpr std::int64_t lanes = kNativeVectorBytes / sizeof(T);
};

// Runs body(i, u) over [0, n): u a NativeSimd<T>::V for the values from i on while a whole vector fits, then
// a T for each value left over, so one generic body serves the vectors and the tail.
template <class T, class Body>
inline void for_each_native_vector(std::int64_t n, Body&& body) {
  std::int64_t i = 0;
  for (; i + NativeSimd<T>::lanes <= n; i += NativeSimd<T>::lanes) body(i, typename NativeSimd<T>::V{});
  for (; i < n; ++i) body(i, T{});
}

// U is T, Simd<T>::V or NativeSimd<T>::V.
template <class U, class T>
inline U load_as(const T* p) {
  if constexpr (std::is_same_v<U, T>)
    return *p;
  else if constexpr (std::is_same_v<U, typename Simd<T>::V>)
    return *reinterpret_cast<const typename Simd<T>::Unaligned*>(p);
  else
    return *reinterpret_cast<const typename NativeSimd<T>::Unaligned*>(p);
}

template <class U, class T>
inline void store_as(T* p, const U& v) {
  if constexpr (std::is_same_v<U, T>)
    *p = v;
  else if constexpr (std::is_same_v<U, typename Simd<T>::V>)
    *reinterpret_cast<typename Simd<T>::Unaligned*>(p) = v;
  else
    *reinterpret_cast<typename NativeSimd<T>::Unaligned*>(p) = v;
}

// Streaming stores write whole lines past the caches, skipping the read of each line from memory that an
// ordinary store makes before overwriting it. Kernels use them for large outputs only: an output of at
// least kStreamBytes (depthwise convolution), or the output of a pass that moves at least kStreamBytes in
// all, read and written (LayerNormalization, BatchNormalization's normalizing pass, the direct
// convolution's forward, 2x2 max pooling), which a 32 MiB L3 shared with other cores does not keep. At
// worst the output's reader then takes from memory what it would have found in L3: no more traffic than
// the read the store saved. The stores are weakly ordered: the task that made them calls stream_fence()
// before it ends, so whoever waits for the task sees them.
inline constexpr std::int64_t kStreamBytes = std::int64_t{16} << 20;

// Whether streaming stores can write a vector at p: they need an address aligned to the vector size.
template <class T>
inline bool stream_aligned(const T* p) {
  return reinterpret_cast<std::uintptr_t>(p) % kNativeVectorBytes == 0;
}

// Whether a pass that moves `values` values of T in all (read plus written) writes its output at `out`
// with streaming stores: it moves at least kStreamBytes, and `out` is stream_aligned. A caller adds what its
// own stores need (every store a whole vector at an aligned offset).
template <class T>
inline bool streams_pass(std::int64_t values, const T* out) {
  return values * static_cast<std::int64_t>(sizeof(T)) >= kStreamBytes && stream_aligned(out);
}

// Stores v at p (stream_aligned) with a streaming store, or a scalar with an ordinary one. The store is an
// asm statement whose output is the vector at p, not an intrinsic: GCC takes the intrinsics as writing any
// memory, and then reloads every pointer a loop holds (a lambda's captures) after each store.
template <class T, class U>
inline void stream_store(T* p, const U& v) {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>);
  if constexpr (std::is_same_v<U, T>) {
    *p = v;
  } else {
    using V = typename NativeSimd<T>::V;
    static_assert(std::is_same_v<U, V>);
    V& out = *reinterpret_cast<V*>(p);
#if defined(__AVX512F__)
    if constexpr (std::is_same_v<T, float>) asm("vmovntps %1, %0" : "=m"(out) : "v"(v));
    else asm("vmovntpd %1, %0" : "=m"(out) : "v"(v));
#elif defined(__AVX__)
    if constexpr (std::is_same_v<T, float>) asm("vmovntps %1, %0" : "=m"(out) : "x"(v));
    else asm("vmovntpd %1, %0" : "=m"(out) : "x"(v));
#elif defined(__SSE2__)
    if constexpr (std::is_same_v<T, float>) asm("movntps %1, %0" : "=m"(out) : "x"(v));
    else asm("movntpd %1, %0" : "=m"(out) : "x"(v));
#else
    out = v;
#endif
  }
}

// Stores v (a native vector or a scalar) at p: with a streaming store when Stream, else an ordinary one.
template <bool Stream, class T, class U>
inline void store_output(T* p, const U& v) {
  if constexpr (Stream) stream_store(p, v);
  else store_as<U>(p, v);
}

// Copies n values to dst with streaming stores (whole lines, past the caches), for a kernel that computes
// a piece of a large output in a small cache-resident buffer first.
template <class T>
inline void stream_copy(T* dst, const T* src, std::int64_t n) {
  std::int64_t i = 0;
  for (; i < n && !stream_aligned(dst + i); ++i) dst[i] = src[i];
  for (; i + NativeSimd<T>::lanes <= n; i += NativeSimd<T>::lanes)
    stream_store(dst + i, load_as<typename NativeSimd<T>::V>(src + i));
  for (; i < n; ++i) dst[i] = src[i];
}

inline void stream_fence() {
#if defined(__SSE2__)
  _mm_sfence();
#endif
}

}  // namespace keel::kernels
