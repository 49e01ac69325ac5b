#include "keel/core/kernels/pooling.h"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <type_traits>
#include <cmath>
#include <string_view>
#include <vector>

#include "keel/core/error.h"
#include "keel/core/kernels/detail/pool_2x2_windows.h"
#include "keel/core/kernels/max_rule.h"
#include "keel/core/kernels/simd.h"
#include "keel/core/kernels/window_geometry.h"
#include "keel/core/parallel.h"

namespace keel::kernels {
namespace {

// Elements per parallel chunk: enough work to outweigh a task's cost.
constexpr std::int64_t kChunkElements = std::int64_t{1} << 14;

// The kernels work on "planes" [H, W, C] of channels-last data. NCHW data is N * C planes of one channel each:
// the same loops with C = 1 (the channel loop is then scalar, the rest is unchanged).
struct PlaneView {
  std::int64_t planes, channels;
};
PlaneView plane_view(const Pool2dGeometry& g) {
  if (g.layout == Layout::NHWC) return {g.batch, g.channels};
  return {g.batch * g.channels, 1};
}

// The in-bounds window rows or columns of every output row or column, computed once per call.
std::vector<IndexRange> window_ranges(std::int64_t out, std::int64_t stride, std::int64_t pad, std::int64_t in,
                                      std::int64_t pool) {
  std::vector<IndexRange> ranges(static_cast<std::size_t>(out));
  for (std::int64_t o = 0; o < out; ++o) ranges[o] = in_bounds_range(o * stride - pad, 1, in, pool);
  return ranges;
}

struct WindowTable {
  PlaneView view;
  std::int64_t plane_size;  // in_h * in_w * channels of the view
  std::vector<IndexRange> rows, cols;
};
WindowTable window_table(const Pool2dGeometry& g) {
  const PlaneView v = plane_view(g);
  return {v, g.in_h * g.in_w * v.channels, window_ranges(g.out_h, g.stride_h, g.pad_top, g.in_h, g.pool_h),
          window_ranges(g.out_w, g.stride_w, g.pad_left, g.in_w, g.pool_w)};
}

// Calls fn(plane, oh, ow, first input pixel of the window, row range, column range) for output pixels of the
// output rows [row0, row1) (rows counted over all planes). Ranges are window offsets: rows ih = ih0 + [first, last).
template <class Fn>
void for_each_window(const Pool2dGeometry& g, const WindowTable& t, std::int64_t row0, std::int64_t row1, Fn&& fn) {
  for (std::int64_t row = row0; row < row1; ++row) {
    const std::int64_t plane = row / g.out_h, oh = row % g.out_h;
    const std::int64_t ih0 = oh * g.stride_h - g.pad_top;
    for (std::int64_t ow = 0; ow < g.out_w; ++ow)
      fn(plane, row * g.out_w + ow, ih0, ow * g.stride_w - g.pad_left, t.rows[oh], t.cols[ow]);
  }
}

// Runs body(row0, row1) over output rows (forward: disjoint writes) in chunks fixed by the geometry.
template <class Fn>
void for_output_rows(const Pool2dGeometry& g, const PlaneView& v, Fn&& body) {
  const std::int64_t grain = std::max<std::int64_t>(1, kChunkElements / (g.out_w * v.channels));
  parallel::for_each_chunk(0, v.planes * g.out_h, grain,
                           [&](std::int64_t, std::int64_t r0, std::int64_t r1) { body(r0, r1); });
}

// Runs body(plane0, plane1) over whole input planes (backward: overlapping windows write shared inputs).
template <class Fn>
void for_input_planes(const Pool2dGeometry& g, const PlaneView& v, Fn&& body) {
  const std::int64_t grain = std::max<std::int64_t>(1, kChunkElements / (g.in_h * g.in_w * v.channels));
  parallel::for_each_chunk(0, v.planes, grain, [&](std::int64_t, std::int64_t p0, std::int64_t p1) { body(p0, p1); });
}

// m = max(m, v) per channel, keeping the first NaN and, for argmax, the first maximum.
template <class T, bool kArgmax>
void max_update(T* m, std::int64_t* a, const T* v, std::int64_t index, std::int64_t channels) {
  for (std::int64_t c = 0; c < channels; ++c) {
    const T cur = m[c], val = v[c];
    const bool take = replaces_max(val, cur);
    m[c] = take ? val : cur;
    if constexpr (kArgmax) a[c] = take ? index : a[c];
  }
}

// The common 2x2 stride-2 window with every window inside the input: four contiguous channel rows per output
// pixel, combined in registers. kStream: whole vectors written with streaming stores.
template <class T, bool kArgmax, bool kStream = false>
void max_pool_2x2_rows(const Pool2dGeometry& g, const WindowTable& t, const T* x, T* y, std::int64_t* argmax,
                       std::int64_t row0, std::int64_t row1) {
  const std::int64_t C = t.view.channels, W = g.in_w;
  detail::for_each_2x2_window(g, C, t.plane_size, x, row0, row1, [&](std::int64_t out, const detail::Window2x2<T>& w) {
    const T* __restrict p0 = w.top_left;
    const T* __restrict p2 = w.bottom_left;
    T* __restrict m = y + out * C;
    std::int64_t* __restrict a = kArgmax ? argmax + out * C : nullptr;
    const std::int64_t pos = w.position;
    std::int64_t c = 0;
    if constexpr (!kArgmax) {  // whole vectors: the same rule with compares and bit selects
      using F = typename NativeSimd<T>::V;  // lanes never meet: the ISA's own width (simd.h)
      for (; c + NativeSimd<T>::lanes <= C; c += NativeSimd<T>::lanes) {
        F best = load_as<F>(p0 + c);
        for (const T* q : {p0 + C, p2, p2 + C}) best = running_max<T>(best, load_as<F>(q + c));
        store_output<kStream>(m + c, best);
      }
    }
    for (; c < C; ++c) {
      T best = p0[c];
      std::int64_t at = pos;
      auto consider = [&](T v, std::int64_t p) {
        const bool take = replaces_max(v, best);
        best = take ? v : best;
        at = take ? p : at;
      };
      consider(p0[C + c], pos + 1);
      consider(p2[c], pos + W);
      consider(p2[C + c], pos + W + 1);
      m[c] = best;
      if constexpr (kArgmax) a[c] = at;
    }
  });
}

template <class T, bool kArgmax>
void max_pool_rows(const Pool2dGeometry& g, const WindowTable& t, const T* x, T* y, std::int64_t* argmax,
                   std::int64_t row0, std::int64_t row1) {
  const std::int64_t C = t.view.channels;
  for_each_window(g, t, row0, row1,
                  [&](std::int64_t plane, std::int64_t out, std::int64_t ih0, std::int64_t iw0, IndexRange rh,
                      IndexRange rw) {
                    const T* x_plane = x + plane * t.plane_size;
                    T* m = y + out * C;
                    std::int64_t* a = kArgmax ? argmax + out * C : nullptr;
                    const std::int64_t first = (ih0 + rh.first) * g.in_w + iw0 + rw.first;
                    std::copy_n(x_plane + first * C, C, m);
                    if constexpr (kArgmax) std::fill_n(a, C, first);
                    for (std::int64_t kh = rh.first; kh < rh.last; ++kh)
                      for (std::int64_t kw = rw.first; kw < rw.last; ++kw) {
                        const std::int64_t pos = (ih0 + kh) * g.in_w + iw0 + kw;
                        if (pos != first) max_update<T, kArgmax>(m, a, x_plane + pos * C, pos, C);
                      }
                  });
}

}  // namespace

Pool2dGeometry pool2d_geometry(Layout layout, std::int64_t batch, std::int64_t in_h, std::int64_t in_w,
                               std::int64_t channels, std::int64_t pool_h, std::int64_t pool_w, std::int64_t stride_h,
                               std::int64_t stride_w, bool same_padding) {
  constexpr std::string_view op = "pool2d";
  require_at_least(op, {{"batch", batch}, {"in_h", in_h}, {"in_w", in_w}, {"channels", channels}}, 1, true);
  require_at_least(op, {{"pool_h", pool_h}, {"pool_w", pool_w}, {"stride_h", stride_h}, {"stride_w", stride_w}}, 1,
                   false);
  const WindowExtent h = window_extent(op, "height", in_h, pool_h, stride_h, 1, same_padding);
  const WindowExtent w = window_extent(op, "width", in_w, pool_w, stride_w, 1, same_padding);
  return Pool2dGeometry{layout,   batch,    in_h,         in_w,         channels, pool_h,
                        pool_w,   stride_h, stride_w,     h.pad_before, w.pad_before, h.out,
                        w.out};
}

bool max_pool2d_is_2x2(const Pool2dGeometry& g) {
  return g.pool_h == 2 && g.pool_w == 2 && g.stride_h == 2 && g.stride_w == 2 && g.pad_top == 0 && g.pad_left == 0 &&
         2 * g.out_h <= g.in_h && 2 * g.out_w <= g.in_w;
}

// Whether 2x2 pooling without argmax writes y with streaming stores (simd.h's kStreamBytes): the pass moves
// 16 MiB or more (inference on a large batch), and every output pixel is whole aligned vectors.
template <class T>
bool streams_output(const Pool2dGeometry& g, const WindowTable& t, const T* y) {
  const std::int64_t values = g.batch * g.channels * (g.in_h * g.in_w + g.out_h * g.out_w);
  return streams_pass(values, y) && t.view.channels % NativeSimd<T>::lanes == 0;
}

template <class T>
void max_pool2d_forward(const Pool2dGeometry& g, const T* x, T* y, std::int64_t* argmax) {
  const WindowTable t = window_table(g);
  const bool two_by_two = max_pool2d_is_2x2(g);
  const bool stream = two_by_two && argmax == nullptr && streams_output(g, t, y);
  for_output_rows(g, t.view, [&](std::int64_t r0, std::int64_t r1) {
    if (stream) {
      max_pool_2x2_rows<T, false, true>(g, t, x, y, nullptr, r0, r1);
      stream_fence();
    } else if (two_by_two && argmax != nullptr)
      max_pool_2x2_rows<T, true>(g, t, x, y, argmax, r0, r1);
    else if (two_by_two)
      max_pool_2x2_rows<T, false>(g, t, x, y, nullptr, r0, r1);
    else if (argmax != nullptr)
      max_pool_rows<T, true>(g, t, x, y, argmax, r0, r1);
    else
      max_pool_rows<T, false>(g, t, x, y, nullptr, r0, r1);
  });
}

template <class T>
void max_pool2d_backward(const Pool2dGeometry& g, const T* grad_y, const std::int64_t* argmax, T* grad_x) {
  if (argmax == nullptr) throw UsageError("max_pool2d_backward: argmax is null; pass the one max_pool2d_forward filled");
  const PlaneView v = plane_view(g);
  const std::int64_t C = v.channels, in_plane = g.in_h * g.in_w * C, out_plane = g.out_h * g.out_w * C;
  for_input_planes(g, v, [&](std::int64_t p0, std::int64_t p1) {
    std::fill_n(grad_x + p0 * in_plane, (p1 - p0) * in_plane, T(0));
    for (std::int64_t p = p0; p < p1; ++p) {
      T* gx = grad_x + p * in_plane;
      const T* gy = grad_y + p * out_plane;
      const std::int64_t* a = argmax + p * out_plane;
      for (std::int64_t i = 0; i < out_plane; i += C)
        for (std::int64_t c = 0; c < C; ++c) gx[a[i + c] * C + c] += gy[i + c];
    }
  });
}

template <class T>
void max_pool2d_backward_2x2(const Pool2dGeometry& g, const T* x, const T* y, const T* grad_y, T* grad_x) {
  if (!max_pool2d_is_2x2(g)) throw UsageError("max_pool2d_backward_2x2: the geometry is not 2x2 with stride 2");
  const PlaneView v = plane_view(g);
  const std::int64_t C = v.channels, W = g.in_w, in_plane = g.in_h * W * C;
  // Each output row owns input rows 2 oh and 2 oh + 1 (and, for the last, any row left over), so
  // chunks of output rows write disjoint parts of grad_x.
  for_output_rows(g, v, [&](std::int64_t r0, std::int64_t r1) {
    for (std::int64_t row = r0; row < r1; ++row) {
      const std::int64_t oh = row % g.out_h;
      const T *top = detail::window_rows(g, C, in_plane, x, row), *bottom = top + W * C;
      T *g_top = detail::window_rows(g, C, in_plane, grad_x, row), *g_bottom = g_top + W * C;
      Prefetch next = detail::next_window_rows(g, C, in_plane, x, row, r1);
      for (std::int64_t ow = 0; ow < g.out_w; ++ow) {
        next.step();
        const std::int64_t out = (row * g.out_w + ow) * C, left = 2 * ow * C, right = left + C;
        const T* __restrict m = y + out;
        const T* __restrict gy = grad_y + out;
        const T *__restrict x0 = top + left, *__restrict x1 = top + right;
        const T* __restrict x2 = bottom + left;  // the fourth position is the one left
        T *__restrict g0 = g_top + left, *__restrict g1 = g_top + right;
        T *__restrict g2 = g_bottom + left, *__restrict g3 = g_bottom + right;
        // y is a copy of the first value in its window that attains the maximum (a NaN included), so
        // that position is the first whose bits equal y's: integer compares and masks, no branches.
        using Bits = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
        using V = typename NativeSimd<Bits>::V;  // lanes never meet: the ISA's own width (simd.h)
        auto bits = [](const T* p) {  // the values' bits as integer lanes
          V v;
          __builtin_memcpy(&v, p, sizeof v);
          return v;
        };
        auto put = [](T* p, V v) { __builtin_memcpy(p, &v, sizeof v); };
        std::int64_t c = 0;
        for (; c + NativeSimd<T>::lanes <= C; c += NativeSimd<T>::lanes) {
          const V best = bits(m + c);
          V rest = bits(gy + c);
          const V e0 = bits(x0 + c) == best, e1 = bits(x1 + c) == best, e2 = bits(x2 + c) == best;
          put(g0 + c, rest & e0);
          rest &= ~e0;
          put(g1 + c, rest & e1);
          rest &= ~e1;
          put(g2 + c, rest & e2);
          put(g3 + c, rest & ~e2);
        }
        for (; c < C; ++c) {
          const Bits best = std::bit_cast<Bits>(m[c]);
          const bool e0 = std::bit_cast<Bits>(x0[c]) == best, e1 = !e0 && std::bit_cast<Bits>(x1[c]) == best;
          const bool e2 = !e0 && !e1 && std::bit_cast<Bits>(x2[c]) == best;
          g0[c] = e0 ? gy[c] : T(0);
          g1[c] = e1 ? gy[c] : T(0);
          g2[c] = e2 ? gy[c] : T(0);
          g3[c] = !e0 && !e1 && !e2 ? gy[c] : T(0);
        }
      }
      const std::int64_t used = 2 * g.out_w * C, unused = W * C - used;  // a column no window reads
      if (unused > 0) {
        std::fill_n(g_top + used, unused, T(0));
        std::fill_n(g_bottom + used, unused, T(0));
      }
      if (oh == g.out_h - 1)  // rows no window reads
        std::fill_n(g_bottom + W * C, (g.in_h - 2 * g.out_h) * W * C, T(0));
    }
  });
}

template <class T>
void avg_pool2d_forward(const Pool2dGeometry& g, const T* x, T* y) {
  const WindowTable t = window_table(g);
  const std::int64_t C = t.view.channels, plane_size = t.plane_size;
  for_output_rows(g, t.view, [&](std::int64_t r0, std::int64_t r1) {
    for_each_window(g, t, r0, r1,
                    [&](std::int64_t plane, std::int64_t out, std::int64_t ih0, std::int64_t iw0, IndexRange rh,
                        IndexRange rw) {
                      T* s = y + out * C;
                      std::fill_n(s, C, T(0));
                      for (std::int64_t kh = rh.first; kh < rh.last; ++kh)
                        for (std::int64_t kw = rw.first; kw < rw.last; ++kw) {
                          const T* src = x + plane * plane_size + ((ih0 + kh) * g.in_w + iw0 + kw) * C;
                          for (std::int64_t c = 0; c < C; ++c) s[c] += src[c];
                        }
                      const T count = static_cast<T>((rh.last - rh.first) * (rw.last - rw.first));
                      for (std::int64_t c = 0; c < C; ++c) s[c] /= count;
                    });
  });
}

template <class T>
void avg_pool2d_backward(const Pool2dGeometry& g, const T* grad_y, T* grad_x) {
  const WindowTable t = window_table(g);
  const std::int64_t C = t.view.channels, plane_size = t.plane_size;
  for_input_planes(g, t.view, [&](std::int64_t p0, std::int64_t p1) {
    std::fill_n(grad_x + p0 * plane_size, (p1 - p0) * plane_size, T(0));
    for_each_window(g, t, p0 * g.out_h, p1 * g.out_h,
                    [&](std::int64_t plane, std::int64_t out, std::int64_t ih0, std::int64_t iw0, IndexRange rh,
                        IndexRange rw) {
                      const T* gy = grad_y + out * C;
                      const T count = static_cast<T>((rh.last - rh.first) * (rw.last - rw.first));
                      for (std::int64_t kh = rh.first; kh < rh.last; ++kh)
                        for (std::int64_t kw = rw.first; kw < rw.last; ++kw) {
                          T* dst = grad_x + plane * plane_size + ((ih0 + kh) * g.in_w + iw0 + kw) * C;
                          for (std::int64_t c = 0; c < C; ++c) dst[c] += gy[c] / count;
                        }
                    });
  });
}

#define KEEL_INSTANTIATE_POOLING(T)                                                                  \
  template void max_pool2d_forward<T>(const Pool2dGeometry&, const T*, T*, std::int64_t*);           \
  template void max_pool2d_backward<T>(const Pool2dGeometry&, const T*, const std::int64_t*, T*);    \
  template void max_pool2d_backward_2x2<T>(const Pool2dGeometry&, const T*, const T*, const T*, T*); \
  template void avg_pool2d_forward<T>(const Pool2dGeometry&, const T*, T*);                          \
  template void avg_pool2d_backward<T>(const Pool2dGeometry&, const T*, T*);
KEEL_INSTANTIATE_POOLING(float)
KEEL_INSTANTIATE_POOLING(double)
#undef KEEL_INSTANTIATE_POOLING

}  // namespace keel::kernels
