#pragma once
// The walk of 2x2, stride-2 pooling windows that lie inside the input (max_pool2d_is_2x2), shared by max
// pooling and the fused BatchNormalization + max pooling pass.
#include <cstdint>

#include "keel/core/kernels/pooling.h"
#include "keel/core/kernels/prefetch.h"

namespace keel::kernels::detail {

// The four input pixels of a window, each a run of `channels` values: top left, top right, bottom left,
// bottom right; `position` is the top left's ih · in_w + iw within its plane.
template <class T>
struct Window2x2 {
  const T* top_left;
  const T* top_right;
  const T* bottom_left;
  const T* bottom_right;
  std::int64_t position;
};

// The first of the two input rows output row `row` reads, a row being one (plane, oh) of planes of
// plane_size values with `channels` values per pixel.
template <class T>
T* window_rows(const Pool2dGeometry& g, std::int64_t channels, std::int64_t plane_size, T* x, std::int64_t row) {
  return x + row / g.out_h * plane_size + 2 * (row % g.out_h) * g.in_w * channels;
}

// The two input rows of output row `row` + 1, fetched over a row's pixels while `row` computes (none when
// row + 1 is not before row1). Without it the walks read memory at half the bandwidth of a plain sweep: the
// hardware prefetcher does not follow two interleaved rows across pages.
template <class T>
Prefetch next_window_rows(const Pool2dGeometry& g, std::int64_t channels, std::int64_t plane_size, const T* x,
                          std::int64_t row, std::int64_t row1) {
  if (row + 1 >= row1) return {};
  return Prefetch(window_rows(g, channels, plane_size, x, row + 1), 2 * g.in_w * channels * std::int64_t{sizeof(T)},
                  g.out_w);
}

// fn(out, window) for every output pixel of output rows [row0, row1); `out` is the pixel's index in the
// output (times channels for its offset).
template <class T, class Fn>
void for_each_2x2_window(const Pool2dGeometry& g, std::int64_t channels, std::int64_t plane_size, const T* x,
                         std::int64_t row0, std::int64_t row1, Fn&& fn) {
  const std::int64_t C = channels, W = g.in_w;
  for (std::int64_t row = row0; row < row1; ++row) {
    const std::int64_t oh = row % g.out_h;
    const T* top = window_rows(g, C, plane_size, x, row);
    const T* bottom = top + W * C;
    Prefetch next = next_window_rows(g, C, plane_size, x, row, row1);
    for (std::int64_t ow = 0; ow < g.out_w; ++ow) {
      next.step();
      fn(row * g.out_w + ow, Window2x2<T>{top + 2 * ow * C, top + (2 * ow + 1) * C, bottom + 2 * ow * C,
                                          bottom + (2 * ow + 1) * C, 2 * oh * W + 2 * ow});
    }
  }
}

}  // namespace keel::kernels::detail
