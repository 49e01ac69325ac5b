#include "keel/core/kernels/gemm.h"

#include <cblas.h>

#include <algorithm>

#include "keel/core/parallel.h"

namespace keel::kernels {
namespace {

void blas(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, float alpha, const float* a,
          std::int64_t lda, const float* b, std::int64_t ldb, float beta, float* c, std::int64_t ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, static_cast<int>(m),
              static_cast<int>(n), static_cast<int>(k), alpha, a, static_cast<int>(lda), b, static_cast<int>(ldb),
              beta, c, static_cast<int>(ldc));
}

void blas(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, double alpha, const double* a,
          std::int64_t lda, const double* b, std::int64_t ldb, double beta, double* c, std::int64_t ldc) {
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, static_cast<int>(m),
              static_cast<int>(n), static_cast<int>(k), alpha, a, static_cast<int>(lda), b, static_cast<int>(ldb),
              beta, c, static_cast<int>(ldc));
}

// Below this many multiply-adds a product runs as one call: splitting costs more than it gains.
constexpr std::int64_t kSplitWork = std::int64_t{1} << 21;
// Blocks per product when splitting: enough to keep a few cores busy and balanced.
constexpr std::int64_t kTargetBlocks = 8;

std::int64_t block_size(std::int64_t extent, std::int64_t align) {
  std::int64_t b = (extent + kTargetBlocks - 1) / kTargetBlocks;
  b = (b + align - 1) / align * align;
  return std::max(b, align * 2);
}

}  // namespace

template <class T>
void gemm_serial(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, T alpha, const T* a,
                 std::int64_t lda, const T* b, std::int64_t ldb, T beta, T* c, std::int64_t ldc) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {  // C = beta * C; BLAS handles it, but keep zero-size operands away from it.
    for (std::int64_t i = 0; i < m; ++i)
      for (std::int64_t j = 0; j < n; ++j) c[i * ldc + j] = beta == T(0) ? T(0) : beta * c[i * ldc + j];
    return;
  }
  blas(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

template <class T>
void gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, T alpha, const T* a,
          std::int64_t lda, const T* b, std::int64_t ldb, T beta, T* c, std::int64_t ldc) {
  if (m <= 0 || n <= 0 || k <= 0 || static_cast<double>(m) * n * k < kSplitWork) {
    gemm_serial(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  if (m >= n) {
    std::int64_t rows = block_size(m, 16);
    parallel::for_each_chunk(0, m, rows, [&](std::int64_t, std::int64_t r0, std::int64_t r1) {
      const T* a_block = trans_a ? a + r0 : a + r0 * lda;
      blas(trans_a, trans_b, r1 - r0, n, k, alpha, a_block, lda, b, ldb, beta, c + r0 * ldc, ldc);
    });
  } else {
    std::int64_t cols = block_size(n, 16);
    parallel::for_each_chunk(0, n, cols, [&](std::int64_t, std::int64_t c0, std::int64_t c1) {
      const T* b_block = trans_b ? b + c0 * ldb : b + c0;
      blas(trans_a, trans_b, m, c1 - c0, k, alpha, a, lda, b_block, ldb, beta, c + c0, ldc);
    });
  }
}

template <class T>
void gemm_batched(std::int64_t count, bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k,
                  T alpha, const T* a, std::int64_t lda, std::int64_t stride_a, const T* b, std::int64_t ldb,
                  std::int64_t stride_b, T beta, T* c, std::int64_t ldc, std::int64_t stride_c) {
  if (count <= 0) return;
  if (static_cast<double>(m) * n * k >= kSplitWork) {
    for (std::int64_t i = 0; i < count; ++i)
      gemm(trans_a, trans_b, m, n, k, alpha, a + i * stride_a, lda, b + i * stride_b, ldb, beta, c + i * stride_c,
           ldc);
    return;
  }
  std::int64_t per_task = std::max<std::int64_t>(1, kSplitWork / std::max<std::int64_t>(1, m * n * k));
  parallel::for_each_chunk(0, count, per_task, [&](std::int64_t, std::int64_t i0, std::int64_t i1) {
    for (std::int64_t i = i0; i < i1; ++i)
      gemm(trans_a, trans_b, m, n, k, alpha, a + i * stride_a, lda, b + i * stride_b, ldb, beta, c + i * stride_c,
           ldc);
  });
}

template void gemm<float>(bool, bool, std::int64_t, std::int64_t, std::int64_t, float, const float*, std::int64_t,
                          const float*, std::int64_t, float, float*, std::int64_t);
template void gemm<double>(bool, bool, std::int64_t, std::int64_t, std::int64_t, double, const double*, std::int64_t,
                           const double*, std::int64_t, double, double*, std::int64_t);
template void gemm_serial<float>(bool, bool, std::int64_t, std::int64_t, std::int64_t, float, const float*,
                                 std::int64_t, const float*, std::int64_t, float, float*, std::int64_t);
template void gemm_serial<double>(bool, bool, std::int64_t, std::int64_t, std::int64_t, double, const double*,
                                  std::int64_t, const double*, std::int64_t, double, double*, std::int64_t);
template void gemm_batched<float>(std::int64_t, bool, bool, std::int64_t, std::int64_t, std::int64_t, float,
                                  const float*, std::int64_t, std::int64_t, const float*, std::int64_t, std::int64_t,
                                  float, float*, std::int64_t, std::int64_t);
template void gemm_batched<double>(std::int64_t, bool, bool, std::int64_t, std::int64_t, std::int64_t, double,
                                   const double*, std::int64_t, std::int64_t, const double*, std::int64_t,
                                   std::int64_t, double, double*, std::int64_t, std::int64_t);

}  // namespace keel::kernels
