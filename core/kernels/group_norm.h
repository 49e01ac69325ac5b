#pragma once
// Raw-pointer GroupNormalization kernels, float and double. A contiguous input is viewed as
// [N, A, C, B]: samples, the positions before the channel axis, channels, the positions after it
// (channels_last images: A = H·W, B = 1; channels_first: A = 1, B = H·W). The C channels form `groups`
// groups of C / groups consecutive channels; group (n, g) is normalized over its channels and all A × B
// positions, y = (x − mean)·invstd·gamma[c] + beta[c].
//
// Numerics as core/kernels/layer_norm.h: per-group statistics in double from shifted block sums merged
// by Chan's formula, the mean subtracted as a T hi + lo pair; backward sums in double. Channels-last
// samples (B = 1) run in blocks of 64 pixels, one vector of channels at a time across a block's pixels
// with its per-channel constants and sums in registers (even and odd pixels in separate sums): the
// shifted sums and the backward's per-channel sums of dy and dy·x̂ are in T over a block, then in double.
// Other layouts run group by group. Samples are independent and dgamma/dbeta are summed over fixed
// chunks of samples in chunk order, so results are bitwise the same for any thread count.
//
// gamma/beta may be nullptr (1 and 0); so may dx, dgamma, dbeta. mean and invstd hold N·groups values,
// sample-major. Bad sizes (negative, groups not dividing C) raise ShapeError; a negative eps ValueError.
#include <cstdint>

namespace keel::kernels {

struct GroupNormLayout {
  std::int64_t samples = 0, before = 1, channels = 0, after = 1, groups = 1;
};

template <class T>
void group_norm_forward(const GroupNormLayout& l, const T* x, const T* gamma, const T* beta, double eps, T* y,
                        double* mean, double* invstd);

template <class T>
void group_norm_backward(const GroupNormLayout& l, const T* dy, const T* x, const T* gamma, const double* mean,
                         const double* invstd, T* dx, T* dgamma, T* dbeta);

}  // namespace keel::kernels
