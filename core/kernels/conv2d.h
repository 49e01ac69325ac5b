#pragma once
// 2-D convolution kernels on raw contiguous buffers (float and double), Keras semantics.
//
// x:      [N, H, W, C] (NHWC) or [N, C, H, W] (NCHW)
// kernel: [kernel_h, kernel_w, in_c, out_c] in either layout (Keras's kernel layout)
// y:      [N, out_h, out_w, out_c] (NHWC) or [N, out_c, out_h, out_w] (NCHW)
// y[n, oh, ow, o] = bias[o] + sum over (i, j, c) of
//     x[n, oh * stride_h - pad_top + i * dilation_h, ow * stride_w - pad_left + j * dilation_w, c] * kernel[i, j, c, o]
// with positions outside the input counting as zero.
//
// Work is cut into chunks of whole images, sized by the geometry only, so every result is bitwise identical
// for any thread count.
#include <cstdint>

#include "keel/core/kernels/layout.h"

namespace keel::kernels {

struct Conv2dGeometry {
  Layout layout;
  std::int64_t batch, in_h, in_w, in_c, out_c, kernel_h, kernel_w, stride_h, stride_w, dilation_h, dilation_w,
      pad_top, pad_left, out_h, out_w;
};

// Validates the arguments and computes the output size and padding (Keras/TF "valid" or "same").
// ShapeError: a non-positive input size, or a "valid" window larger than the input. ValueError: a non-positive
// out_c or kernel size, strides or dilations < 1, or strides > 1 together with dilation > 1 (Keras's rule).
Conv2dGeometry conv2d_geometry(Layout layout, std::int64_t batch, std::int64_t in_h, std::int64_t in_w,
                               std::int64_t in_c, std::int64_t out_c, std::int64_t kernel_h, std::int64_t kernel_w,
                               std::int64_t stride_h, std::int64_t stride_w, std::int64_t dilation_h,
                               std::int64_t dilation_w, bool same_padding);

// Overwrites y. bias is [out_c] or nullptr. With relu, max(y, 0) is applied to each chunk of the
// output right after its GEMM, while it is still in cache.
template <class T>
void conv2d_forward(const Conv2dGeometry& g, const T* x, const T* kernel, const T* bias, T* y, bool relu = false);

// Overwrites grad_x (shaped like x) with the gradient of <grad_y, y> with respect to x.
template <class T>
void conv2d_backward_input(const Conv2dGeometry& g, const T* grad_y, const T* kernel, T* grad_x);

// Overwrites grad_kernel (shaped like kernel) and, when not null, grad_bias [out_c].
template <class T>
void conv2d_backward_kernel(const Conv2dGeometry& g, const T* x, const T* grad_y, T* grad_kernel, T* grad_bias);

// The gradients a caller asks for, each skipped when its pointer is null (grad_bias goes with grad_kernel):
// the same values as conv2d_backward_input and conv2d_backward_kernel, and where an algorithm computes both
// from shared steps (Winograd's product gradients), they are done once.
template <class T>
void conv2d_backward(const Conv2dGeometry& g, const T* x, const T* grad_y, const T* kernel, T* grad_x, T* grad_kernel,
                     T* grad_bias);

}  // namespace keel::kernels
