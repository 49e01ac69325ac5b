#pragma once
// Patch matrices for convolution as GEMM. Columns (NHWC) or rows (NCHW) follow the kernel's
// [kernel_h, kernel_w, in_c] order, so the kernel viewed as [kernel_h * kernel_w * in_c, out_c] multiplies
// them with no transpose. Positions in the padding read as zero.
#include <cstdint>

#include "keel/core/kernels/conv2d.h"

namespace keel::kernels {

// True when some window reaches outside the input (so a patch matrix has zero entries).
bool conv2d_has_padding(const Conv2dGeometry& g);

// NHWC, `images` consecutive images starting at x: col is [images * out_h * out_w, kernel_h * kernel_w * in_c],
// one row per output pixel.
template <class T>
void im2col_nhwc(const Conv2dGeometry& g, const T* x, std::int64_t images, T* col);
// The adjoint: overwrites grad_x (the same `images` images) with the sum of the col entries over each input.
template <class T>
void col2im_nhwc(const Conv2dGeometry& g, const T* col, std::int64_t images, T* grad_x);

// NCHW, one image: col is [kernel_h * kernel_w * in_c, out_h * out_w], one column per output pixel.
template <class T>
void im2col_nchw(const Conv2dGeometry& g, const T* x, T* col);
template <class T>
void col2im_nchw(const Conv2dGeometry& g, const T* col, T* grad_x);

}  // namespace keel::kernels
