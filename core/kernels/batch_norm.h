#pragma once
// Raw-pointer BatchNormalization kernels (docs/semantics.md §1.3–§1.6, §1.10), float and double.
//
// Data model: a contiguous input viewed as [outer, C, inner]; element (o, c, i) sits at
// (o*C + c)*inner + i. NHWC rank 4 → {N*H*W, C, 1}; NCHW → {N, C, H*W}; rank 2 [N, C] → {N, C, 1}.
// Statistics are per channel over the outer × inner positions (count = outer*inner).
//
// Numerics: all per-channel statistics are double. Moments come from one pass of shifted sums
// Σ(x - s), Σ(x - s)² in T over small blocks, s near the mean (the running mean, or the mean of a few
// values for a work item's first block), each block's moments in double merged with Chan's formula in
// a fixed order; never from raw Σx and Σx². Normalization subtracts the mean as a float hi + lo pair, so a
// large offset (x ≈ 1e6) costs no accuracy. Every decomposition (blocks, chunks, merge order) is fixed
// by the layout alone, so results are bitwise identical for any thread count.
//
// Pointers to per-channel arrays hold C values. gamma/beta/r/d may be nullptr, meaning gamma = 1,
// beta = 0, r = 1, d = 0 (scale=false, center=false, no renorm). With count 0 the statistics are mean 0,
// var 0. Where var + eps == 0 the inverse standard deviation is 0, so the output is beta, never NaN.
// Invalid layouts (negative sizes) raise ShapeError; a negative or NaN eps raises ValueError.
#include <cstdint>

namespace keel::kernels {

struct ChannelLayout {
  std::int64_t outer = 0, channels = 0, inner = 0;
};

// Per-channel mean and biased variance (M2 / count) over outer × inner.
template <class T>
void batch_norm_moments(const ChannelLayout& layout, const T* x, double* mean, double* var);

// invstd[c] = 1 / sqrt(var[c] + eps), or 0 where var[c] + eps == 0.
void batch_norm_invstd(std::int64_t channels, const double* var, double eps, double* invstd);

// y = ((x - mean)·invstd·r + d)·gamma + beta with the given statistics (synchronized BN, renorm).
template <class T>
void batch_norm_normalize(const ChannelLayout& layout, const T* x, const double* mean, const double* invstd,
                          const T* gamma, const T* beta, const double* r, const double* d, T* y);

// Training forward in one call: moments (written to mean/var), invstd (saved for backward) and
// y = gamma·(x - mean)·invstd + beta.
template <class T>
void batch_norm_forward_training(const ChannelLayout& layout, const T* x, const T* gamma, const T* beta, double eps,
                                 T* y, double* mean, double* var, double* invstd);

// Inference with moving statistics, folded per channel into scale = gamma / sqrt(moving_var + eps)
// (0 where that root is 0) and shift = beta: y = (x - moving_mean)·scale + shift. The subtraction stays
// unfolded because x·scale + (beta - mean·scale) loses the low bits of x at large offsets.
template <class T>
void batch_norm_inference(const ChannelLayout& layout, const T* x, const T* gamma, const T* beta, const T* moving_mean,
                          const T* moving_var, double eps, T* y);

// Backward of training-mode BN through mean and var, with x̂ = (x - mean)·invstd recomputed.
// Pass 1 (reduce): sum_dy[c] = Σ dy, sum_dy_xhat[c] = Σ dy·x̂ (double, fixed blocked order).
// Synchronized BN all-reduces these two arrays across replicas before pass 2.
template <class T>
void batch_norm_backward_reduce(const ChannelLayout& layout, const T* grad_y, const T* x, const double* mean,
                                const double* invstd, double* sum_dy, double* sum_dy_xhat);

// Pass 2 (apply): grad_x = gamma·r·invstd·(dy - sum_dy/count - x̂·sum_dy_xhat/count), count being the
// number of values per channel behind the sums (the global count under synchronized BN).
template <class T>
void batch_norm_backward_apply(const ChannelLayout& layout, const T* grad_y, const T* x, const double* mean,
                               const double* invstd, const T* gamma, const double* r, const double* sum_dy,
                               const double* sum_dy_xhat, double count, T* grad_x);

// grad_gamma = Σ dy·(x̂·r + d) = r·sum_dy_xhat + d·sum_dy, grad_beta = sum_dy; either output may be nullptr.
template <class T>
void batch_norm_param_grads(std::int64_t channels, const double* sum_dy, const double* sum_dy_xhat, const double* r,
                            const double* d, T* grad_gamma, T* grad_beta);

// All of backward in one call (reduce, apply, parameter grads); r and d are constants (renorm).
// grad_gamma / grad_beta may be nullptr.
template <class T>
void batch_norm_backward(const ChannelLayout& layout, const T* grad_y, const T* x, const double* mean,
                         const double* invstd, const T* gamma, const double* r, const double* d, T* grad_x,
                         T* grad_gamma, T* grad_beta);

}  // namespace keel::kernels
