#include "keel/core/kernels/im2col.h"

#include <algorithm>

#include "keel/core/kernels/window_geometry.h"

namespace keel::kernels {
namespace {

// Calls fn(col_offset, x_offset, length, x_step) for every run of in-bounds patch entries:
// col[col_offset + i] pairs with x[x_offset + i * x_step] for i < length. Runs never overlap in col.

template <class Fn>
void for_each_run_nhwc(const Conv2dGeometry& g, std::int64_t images, Fn&& fn) {
  const std::int64_t C = g.in_c;
  const std::int64_t row_len = g.kernel_h * g.kernel_w * C;
  const std::int64_t kw_len = g.kernel_w * C;
  std::int64_t row = 0;
  for (std::int64_t n = 0; n < images; ++n) {
    const std::int64_t image = n * g.in_h * g.in_w * C;
    for (std::int64_t oh = 0; oh < g.out_h; ++oh) {
      const std::int64_t h0 = oh * g.stride_h - g.pad_top;
      const IndexRange kh_range = in_bounds_range(h0, g.dilation_h, g.in_h, g.kernel_h);
      for (std::int64_t ow = 0; ow < g.out_w; ++ow, ++row) {
        const std::int64_t w0 = ow * g.stride_w - g.pad_left;
        const IndexRange kw_range = in_bounds_range(w0, g.dilation_w, g.in_w, g.kernel_w);
        for (std::int64_t kh = kh_range.first; kh < kh_range.last; ++kh) {
          const std::int64_t col_base = row * row_len + kh * kw_len;
          const std::int64_t x_row = image + (h0 + kh * g.dilation_h) * g.in_w * C;
          if (g.dilation_w == 1) {  // the whole in-bounds kernel row is one contiguous run of x
            fn(col_base + kw_range.first * C, x_row + (w0 + kw_range.first) * C,
               (kw_range.last - kw_range.first) * C, std::int64_t{1});
          } else {
            for (std::int64_t kw = kw_range.first; kw < kw_range.last; ++kw)
              fn(col_base + kw * C, x_row + (w0 + kw * g.dilation_w) * C, C, std::int64_t{1});
          }
        }
      }
    }
  }
}

template <class Fn>
void for_each_run_nchw(const Conv2dGeometry& g, Fn&& fn) {
  const std::int64_t pixels = g.out_h * g.out_w;
  for (std::int64_t kh = 0; kh < g.kernel_h; ++kh) {
    const IndexRange oh_range = in_bounds_range(kh * g.dilation_h - g.pad_top, g.stride_h, g.in_h, g.out_h);
    for (std::int64_t kw = 0; kw < g.kernel_w; ++kw) {
      const std::int64_t w_offset = kw * g.dilation_w - g.pad_left;
      const IndexRange ow_range = in_bounds_range(w_offset, g.stride_w, g.in_w, g.out_w);
      for (std::int64_t c = 0; c < g.in_c; ++c) {
        const std::int64_t col_row = ((kh * g.kernel_w + kw) * g.in_c + c) * pixels;
        for (std::int64_t oh = oh_range.first; oh < oh_range.last; ++oh) {
          const std::int64_t ih = oh * g.stride_h - g.pad_top + kh * g.dilation_h;
          fn(col_row + oh * g.out_w + ow_range.first,
             (c * g.in_h + ih) * g.in_w + ow_range.first * g.stride_w + w_offset, ow_range.last - ow_range.first,
             g.stride_w);
        }
      }
    }
  }
}

template <class T>
void copy_run(T* dst, const T* src, std::int64_t length, std::int64_t step) {
  if (step == 1) {  // runs are short (often kernel_w * in_c elements): a plain loop beats a memmove call
    for (std::int64_t i = 0; i < length; ++i) dst[i] = src[i];
  } else {
    for (std::int64_t i = 0; i < length; ++i) dst[i] = src[i * step];
  }
}

template <class T>
void add_run(T* dst, const T* src, std::int64_t length, std::int64_t step) {
  if (step == 1) {
    for (std::int64_t i = 0; i < length; ++i) dst[i] += src[i];
  } else {
    for (std::int64_t i = 0; i < length; ++i) dst[i * step] += src[i];
  }
}

}  // namespace

bool conv2d_has_padding(const Conv2dGeometry& g) {
  const std::int64_t reach_h = (g.out_h - 1) * g.stride_h + (g.kernel_h - 1) * g.dilation_h + 1 - g.pad_top;
  const std::int64_t reach_w = (g.out_w - 1) * g.stride_w + (g.kernel_w - 1) * g.dilation_w + 1 - g.pad_left;
  return g.pad_top > 0 || g.pad_left > 0 || reach_h > g.in_h || reach_w > g.in_w;
}

template <class T>
void im2col_nhwc(const Conv2dGeometry& g, const T* x, std::int64_t images, T* col) {
  if (conv2d_has_padding(g))
    std::fill_n(col, images * g.out_h * g.out_w * g.kernel_h * g.kernel_w * g.in_c, T(0));
  for_each_run_nhwc(g, images, [&](std::int64_t c, std::int64_t xo, std::int64_t len, std::int64_t step) {
    copy_run(col + c, x + xo, len, step);
  });
}

template <class T>
void col2im_nhwc(const Conv2dGeometry& g, const T* col, std::int64_t images, T* grad_x) {
  std::fill_n(grad_x, images * g.in_h * g.in_w * g.in_c, T(0));
  for_each_run_nhwc(g, images, [&](std::int64_t c, std::int64_t xo, std::int64_t len, std::int64_t step) {
    add_run(grad_x + xo, col + c, len, step);
  });
}

template <class T>
void im2col_nchw(const Conv2dGeometry& g, const T* x, T* col) {
  if (conv2d_has_padding(g)) std::fill_n(col, g.kernel_h * g.kernel_w * g.in_c * g.out_h * g.out_w, T(0));
  for_each_run_nchw(g, [&](std::int64_t c, std::int64_t xo, std::int64_t len, std::int64_t step) {
    copy_run(col + c, x + xo, len, step);
  });
}

template <class T>
void col2im_nchw(const Conv2dGeometry& g, const T* col, T* grad_x) {
  std::fill_n(grad_x, g.in_c * g.in_h * g.in_w, T(0));
  for_each_run_nchw(g, [&](std::int64_t c, std::int64_t xo, std::int64_t len, std::int64_t step) {
    add_run(grad_x + xo, col + c, len, step);
  });
}

#define KEEL_INSTANTIATE_IM2COL(T)                                                        \
  template void im2col_nhwc<T>(const Conv2dGeometry&, const T*, std::int64_t, T*);       \
  template void col2im_nhwc<T>(const Conv2dGeometry&, const T*, std::int64_t, T*);       \
  template void im2col_nchw<T>(const Conv2dGeometry&, const T*, T*);                     \
  template void col2im_nchw<T>(const Conv2dGeometry&, const T*, T*);
KEEL_INSTANTIATE_IM2COL(float)
KEEL_INSTANTIATE_IM2COL(double)
#undef KEEL_INSTANTIATE_IM2COL

}  // namespace keel::kernels
