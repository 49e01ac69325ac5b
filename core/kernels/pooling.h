#pragma once
// 2-D max and average pooling on raw contiguous buffers (float and double), Keras/TF semantics.
//
// x: [N, H, W, C] (NHWC) or [N, C, H, W] (NCHW); y: [N, out_h, out_w, C] or [N, C, out_h, out_w].
// Window (oh, ow) covers rows oh * stride_h - pad_top + [0, pool_h) and columns likewise; positions in the
// padding are ignored (max over, and average over, the real inputs only — every window has at least one).
// Work is cut into pieces sized by the geometry only, so results are identical for any thread count.
#include <cstdint>

#include "keel/core/kernels/layout.h"

namespace keel::kernels {

struct Pool2dGeometry {
  Layout layout;
  std::int64_t batch, in_h, in_w, channels, pool_h, pool_w, stride_h, stride_w, pad_top, pad_left, out_h, out_w;
};

// Keras/TF "valid" or "same" output size and padding (conv2d's formulas with dilation 1).
// ShapeError: a non-positive input size or a "valid" window larger than the input; ValueError: pool sizes or
// strides < 1.
Pool2dGeometry pool2d_geometry(Layout layout, std::int64_t batch, std::int64_t in_h, std::int64_t in_w,
                               std::int64_t channels, std::int64_t pool_h, std::int64_t pool_w, std::int64_t stride_h,
                               std::int64_t stride_w, bool same_padding);

// Overwrites y. A window holding a NaN gives NaN. argmax (shaped like y, may be nullptr) receives, for each output
// element, the spatial position ih * in_w + iw of its maximum within the input plane of the same image and
// channel (the first such position in row-major window order on ties, the first NaN if any).
template <class T>
void max_pool2d_forward(const Pool2dGeometry& g, const T* x, T* y, std::int64_t* argmax);

// Overwrites grad_x: each grad_y element is added at its argmax (from max_pool2d_forward, not null).
template <class T>
void max_pool2d_backward(const Pool2dGeometry& g, const T* grad_y, const std::int64_t* argmax, T* grad_x);

// True for 2x2 windows with stride 2 that never reach outside the input (Keras's MaxPooling2D default):
// the windows do not overlap, and the backward can find each maximum again from x and y instead of
// reading an argmax that the forward would have to write.
bool max_pool2d_is_2x2(const Pool2dGeometry& g);

// For max_pool2d_is_2x2 geometries, with y from max_pool2d_forward: overwrites grad_x, giving each
// grad_y element to the first position of its window whose x has y's bits — the argmax the forward
// picks, since y is a copy of that value (a NaN included).
template <class T>
void max_pool2d_backward_2x2(const Pool2dGeometry& g, const T* x, const T* y, const T* grad_y, T* grad_x);

// Overwrites y with the mean over each window's real inputs.
template <class T>
void avg_pool2d_forward(const Pool2dGeometry& g, const T* x, T* y);

// Overwrites grad_x: each grad_y element is shared equally among its window's real inputs.
template <class T>
void avg_pool2d_backward(const Pool2dGeometry& g, const T* grad_y, T* grad_x);

}  // namespace keel::kernels
