#pragma once
// Direct NHWC convolution for patches of a few values (a first layer on 1- or 3-channel images:
// kernel_h * kernel_w * in_c <= kDirectMaxPatch). There a GEMM has an inner dimension of 9 or 27 and
// runs far below its peak, and im2col writes several times the input; the direct loops keep each
// output pixel's channels in vector registers and read the input in place.
// Same contract as conv2d_forward / conv2d_backward_kernel in conv2d.h; chunks are whole images
// sized by the geometry only, so results are bitwise identical for any thread count.
#include <cstdint>

#include "keel/core/kernels/conv2d.h"

namespace keel::kernels {

inline constexpr std::int64_t kDirectMaxPatch = 32;

bool conv2d_direct_applicable(const Conv2dGeometry& g);

template <class T>
void conv2d_forward_direct(const Conv2dGeometry& g, const T* x, const T* kernel, const T* bias, T* y, bool relu);

template <class T>
void conv2d_backward_kernel_direct(const Conv2dGeometry& g, const T* x, const T* grad_y, T* grad_kernel, T* grad_bias);

}  // namespace keel::kernels
