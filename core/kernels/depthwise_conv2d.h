#pragma once
// Depthwise 2-D convolution on raw contiguous NHWC buffers (float and double), Keras semantics.
//
// x:      [N, H, W, C]
// kernel: [kernel_h, kernel_w, C, multiplier] (Keras's depthwise_kernel layout)
// y:      [N, out_h, out_w, C * multiplier]; output channel o = c * multiplier + m reads input channel c only:
// y[n, oh, ow, o] = bias[o] + sum over (i, j) of
//     x[n, oh * stride_h - pad_top + i * dilation_h, ow * stride_w - pad_left + j * dilation_w, o / multiplier]
//     * kernel[i, j, o]
// with positions outside the input counting as zero.
//
// Direct loops vectorized over the output channels; the input rows a piece of work reads are copied once,
// zero-padded and with each channel repeated `multiplier` times, so the inner loops test no bounds. For 3 x 3
// kernels (MobileNet's) the copy and the kernel are laid out in channel blocks of one vector, each block's
// columns at fixed offsets, and the loops take a channel block at a time over blocks of 8 output pixels
// (4 for the kernel gradient), the sums in registers. While a band computes, the input (or grad_y) rows the
// next band will copy are prefetched a few cache lines per block of pixels. The input gradient runs the same loops over grad_y (zero-padded by the
// kernel's extent, kernel flipped) when the strides are 1, and scatters into input rows the task owns
// otherwise. Work is cut into bands of rows of one image, fixed by the geometry alone, and the kernel
// gradient sums one partial per chunk in chunk order, so results are bitwise identical for any thread count.
// An output (y, or grad_x with strides 1) of 16 MiB or more is computed a row at a time in a buffer and
// written with streaming stores (simd.h's stream_copy).
#include <cstdint>

namespace keel::kernels {

struct DepthwiseConv2dGeometry {
  std::int64_t batch, in_h, in_w, in_c, multiplier, kernel_h, kernel_w, stride_h, stride_w, dilation_h, dilation_w,
      pad_top, pad_left, out_h, out_w;
  std::int64_t out_c() const { return in_c * multiplier; }
};

// Validates the arguments and computes the output size and padding (Keras/TF "valid" or "same").
// ShapeError: a non-positive input size, or a "valid" window larger than the input. ValueError: a non-positive
// multiplier or kernel size, strides or dilations < 1, or strides > 1 together with dilation > 1 (Keras's rule).
DepthwiseConv2dGeometry depthwise_conv2d_geometry(std::int64_t batch, std::int64_t in_h, std::int64_t in_w,
                                                  std::int64_t in_c, std::int64_t multiplier, std::int64_t kernel_h,
                                                  std::int64_t kernel_w, std::int64_t stride_h, std::int64_t stride_w,
                                                  std::int64_t dilation_h, std::int64_t dilation_w, bool same_padding);

// Overwrites y. bias is [C * multiplier] or nullptr.
template <class T>
void depthwise_conv2d_forward(const DepthwiseConv2dGeometry& g, const T* x, const T* kernel, const T* bias, T* y);

// Overwrites those of grad_x (shaped like x), grad_kernel (shaped like kernel) and grad_bias [C * multiplier]
// that are not null with the gradients of <grad_y, y>; grad_bias only with grad_kernel. With strides 1 and
// "same" sizes, both gradients are computed band by band in one sweep, reading grad_y from memory once.
// x may be null without grad_kernel, kernel without grad_x.
template <class T>
void depthwise_conv2d_backward(const DepthwiseConv2dGeometry& g, const T* x, const T* grad_y, const T* kernel,
                               T* grad_x, T* grad_kernel, T* grad_bias);

// Overwrites grad_x (shaped like x) with the gradient of <grad_y, y> with respect to x.
template <class T>
void depthwise_conv2d_backward_input(const DepthwiseConv2dGeometry& g, const T* grad_y, const T* kernel, T* grad_x);

// Overwrites grad_kernel (shaped like kernel) and, when not null, grad_bias [C * multiplier].
template <class T>
void depthwise_conv2d_backward_kernel(const DepthwiseConv2dGeometry& g, const T* x, const T* grad_y, T* grad_kernel,
                                      T* grad_bias);

}  // namespace keel::kernels
