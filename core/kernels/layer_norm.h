#pragma once
// Raw-pointer LayerNormalization kernels over the last axis, float and double: a contiguous input viewed
// as [rows, cols], each row normalized over its cols values, y = (x − mean)·invstd·gamma + beta.
//
// Numerics: per-row statistics are double. Moments come from shifted sums Σ(x − s), Σ(x − s)² in T over
// blocks of at most kLayerNormBlock values (s: the mean of the row's first values, then the running
// mean), each block's moments merged in double by Chan's formula; never from raw Σx and Σx². The mean is
// subtracted as a T hi + lo pair, so an offset of 1e4 on float32 data costs no accuracy.
// Rows are independent. dgamma/dbeta terms are summed in T over blocks of 16 rows, the blocks into
// double partials per fixed chunk of rows, and the partials in chunk order, so every result is bitwise
// the same for any thread count. The backward pass reads each row twice from L1: once for the sums
// (mean of g and of g·x̂, the dgamma/dbeta terms), once for dx. A pass that moves 16 MiB or more writes
// y or dx with streaming stores when every output row starts on a vector boundary (simd.h's kStreamBytes).
//
// gamma/beta may be nullptr (gamma = 1, beta = 0); so may dx, dgamma, dbeta (not wanted). Where
// var + eps == 0 the inverse standard deviation is 0. A negative or NaN eps is a ValueError.
#include <cstdint>

namespace keel::kernels {

inline constexpr std::int64_t kLayerNormBlock = 512;

// mean[rows] and invstd[rows] are written for backward.
template <class T>
void layer_norm_forward(std::int64_t rows, std::int64_t cols, const T* x, const T* gamma, const T* beta, double eps,
                        T* y, double* mean, double* invstd);

template <class T>
void layer_norm_backward(std::int64_t rows, std::int64_t cols, const T* dy, const T* x, const T* gamma,
                         const double* mean, const double* invstd, T* dx, T* dgamma, T* dbeta);

}  // namespace keel::kernels
