#pragma once
// Row-major GEMM through OpenBLAS: C = alpha * op(A) * op(B) + beta * C, with op(A) [m, k] and
// op(B) [k, n]. Large products are cut into row or column blocks (sizes fixed by m, n, k) that run
// as oneTBB tasks, each a single-threaded cblas call.
#include <cstdint>

namespace keel::kernels {

template <class T>
void gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, T alpha, const T* a,
          std::int64_t lda, const T* b, std::int64_t ldb, T beta, T* c, std::int64_t ldc);

// The same product as one single-threaded call on the calling thread, for callers that already run
// in parallel chunks of their own.
template <class T>
void gemm_serial(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, T alpha, const T* a,
                 std::int64_t lda, const T* b, std::int64_t ldb, T beta, T* c, std::int64_t ldc);

// `count` independent GEMMs with the same geometry; matrix i starts at a + i*stride_a (likewise b, c).
// Parallel over the batch when each product is small.
template <class T>
void gemm_batched(std::int64_t count, bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k,
                  T alpha, const T* a, std::int64_t lda, std::int64_t stride_a, const T* b, std::int64_t ldb,
                  std::int64_t stride_b, T beta, T* c, std::int64_t ldc, std::int64_t stride_c);

}  // namespace keel::kernels
