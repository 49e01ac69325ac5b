#include "keel/core/kernels/conv2d.h"

#include <fmt/format.h>

#include <algorithm>
#include <type_traits>
#include <vector>

#include "keel/core/error.h"
#include "keel/core/kernels/chunk_partials.h"
#include "keel/core/kernels/conv2d_direct.h"
#include "keel/core/kernels/conv2d_winograd.h"
#include "keel/core/kernels/gemm.h"
#include "keel/core/kernels/im2col.h"
#include "keel/core/kernels/scratch_buffer.h"
#include "keel/core/kernels/window_geometry.h"
#include "keel/core/parallel.h"

namespace keel::kernels {
namespace {

// A chunk's patch matrix should stay within about this many bytes, so it is still in L2 when the GEMM reads it.
constexpr std::int64_t kTargetColBytes = std::int64_t{1} << 20;
// At least this many chunks when the batch allows it, so two or more threads stay balanced.
constexpr std::int64_t kMinChunks = 8;

// How the batch is cut: whole images only (col2im of neighbouring rows of one image would race), and a size
// that depends on the geometry alone, never on the thread count.
struct ChunkPlan {
  std::int64_t images_per_chunk;
  std::int64_t chunks;
  bool pointwise;  // 1x1 kernel with stride 1: the input is its own patch matrix.
  std::int64_t patch;   // kernel_h * kernel_w * in_c
  std::int64_t pixels;  // out_h * out_w

  // One chunk runs its GEMM on the calling thread; a lone chunk lets the GEMM split itself over threads.
  template <class T>
  void gemm(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, const T* a, std::int64_t lda,
            const T* b, std::int64_t ldb, T beta, T* c, std::int64_t ldc) const {
    if (chunks > 1)
      gemm_serial(ta, tb, m, n, k, T(1), a, lda, b, ldb, beta, c, ldc);
    else
      kernels::gemm(ta, tb, m, n, k, T(1), a, lda, b, ldb, beta, c, ldc);
  }
};

template <class T>
ChunkPlan plan_chunks(const Conv2dGeometry& g) {
  ChunkPlan p{};
  p.patch = g.kernel_h * g.kernel_w * g.in_c;
  p.pixels = g.out_h * g.out_w;
  p.pointwise = g.kernel_h == 1 && g.kernel_w == 1 && g.stride_h == 1 && g.stride_w == 1;
  const std::int64_t col_bytes = std::max<std::int64_t>(1, p.pixels * p.patch * static_cast<std::int64_t>(sizeof(T)));
  const std::int64_t balanced = (g.batch + kMinChunks - 1) / kMinChunks;
  p.images_per_chunk = std::clamp<std::int64_t>(kTargetColBytes / col_bytes, 1, balanced);
  p.chunks = parallel::num_chunks(0, g.batch, p.images_per_chunk);
  return p;
}

// rows x cols of y set to bias (per column, or per row when bias_per_row); returns the GEMM's beta.
template <class T>
T fill_bias(const T* bias, T* y, std::int64_t rows, std::int64_t cols, bool bias_per_row) {
  if (bias == nullptr) return T(0);
  for (std::int64_t r = 0; r < rows; ++r) {
    T* y_row = y + r * cols;
    if (bias_per_row)
      std::fill_n(y_row, cols, bias[r]);
    else
      std::copy_n(bias, cols, y_row);
  }
  return T(1);
}

}  // namespace

Conv2dGeometry conv2d_geometry(Layout layout, std::int64_t batch, std::int64_t in_h, std::int64_t in_w,
                               std::int64_t in_c, std::int64_t out_c, std::int64_t kernel_h, std::int64_t kernel_w,
                               std::int64_t stride_h, std::int64_t stride_w, std::int64_t dilation_h,
                               std::int64_t dilation_w, bool same_padding) {
  constexpr std::string_view op = "conv2d";
  require_at_least(op, {{"batch", batch}, {"in_h", in_h}, {"in_w", in_w}, {"in_c", in_c}}, 1, true);
  require_at_least(op,
                   {{"out_c (filters)", out_c}, {"kernel_h", kernel_h}, {"kernel_w", kernel_w}, {"stride_h", stride_h},
                    {"stride_w", stride_w}, {"dilation_h", dilation_h}, {"dilation_w", dilation_w}},
                   1, false);
  if ((stride_h > 1 || stride_w > 1) && (dilation_h > 1 || dilation_w > 1))
    throw ValueError(fmt::format("conv2d: strides > 1 together with dilation_rate > 1 is not supported (Keras), got "
                                 "strides ({}, {}) and dilation_rate ({}, {})",
                                 stride_h, stride_w, dilation_h, dilation_w));
  const WindowExtent h = window_extent(op, "height", in_h, kernel_h, stride_h, dilation_h, same_padding);
  const WindowExtent w = window_extent(op, "width", in_w, kernel_w, stride_w, dilation_w, same_padding);
  return Conv2dGeometry{layout,     batch,      in_h,       in_w,         in_c,     out_c, kernel_h, kernel_w,
                        stride_h,   stride_w,   dilation_h, dilation_w,   h.pad_before, w.pad_before, h.out, w.out};
}

template <class T>
void relu_in_place(T* p, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) p[i] = p[i] > T(0) || p[i] != p[i] ? p[i] : T(0);
}

template <class T>
void conv2d_forward(const Conv2dGeometry& g, const T* x, const T* kernel, const T* bias, T* y, bool relu) {
  if (conv2d_direct_applicable(g)) return conv2d_forward_direct(g, x, kernel, bias, y, relu);
  if constexpr (std::is_same_v<T, float>)
    if (conv2d_winograd_applicable(g)) return conv2d_forward_winograd(g, x, kernel, bias, y, relu);
  const ChunkPlan p = plan_chunks<T>(g);
  const std::int64_t in_image = g.in_h * g.in_w * g.in_c;
  const std::int64_t out_image = p.pixels * g.out_c;
  parallel::for_each_chunk(0, g.batch, p.images_per_chunk, [&](std::int64_t, std::int64_t n0, std::int64_t n1) {
    if (g.layout == Layout::NHWC) {
      const std::int64_t rows = (n1 - n0) * p.pixels;
      T* y_chunk = y + n0 * out_image;
      const T beta = fill_bias(bias, y_chunk, rows, g.out_c, false);
      if (p.pointwise) {
        p.gemm(false, false, rows, g.out_c, p.patch, x + n0 * in_image, p.patch, kernel, g.out_c, beta, y_chunk,
               g.out_c);
      } else {
        ScratchBuffer<T> col(static_cast<std::size_t>(rows * p.patch));
        im2col_nhwc(g, x + n0 * in_image, n1 - n0, col.data());
        p.gemm(false, false, rows, g.out_c, p.patch, col.data(), p.patch, kernel, g.out_c, beta, y_chunk, g.out_c);
      }
      if (relu) relu_in_place(y_chunk, rows * g.out_c);  // while the chunk is still in cache
      return;
    }
    ScratchBuffer<T> col(p.pointwise ? 0 : static_cast<std::size_t>(p.patch * p.pixels));
    for (std::int64_t n = n0; n < n1; ++n) {  // per image: y_n [out_c, pixels] = kernel^T x col [patch, pixels]
      T* y_n = y + n * out_image;
      const T beta = fill_bias(bias, y_n, g.out_c, p.pixels, true);
      const T* x_n = x + n * in_image;
      if (!p.pointwise) im2col_nchw(g, x_n, col.data());
      p.gemm(true, false, g.out_c, p.pixels, p.patch, kernel, g.out_c, p.pointwise ? x_n : col.data(), p.pixels,
             beta, y_n, p.pixels);
      if (relu) relu_in_place(y_n, out_image);
    }
  });
}

template <class T>
void conv2d_backward_input(const Conv2dGeometry& g, const T* grad_y, const T* kernel, T* grad_x) {
  if constexpr (std::is_same_v<T, float>)
    if (conv2d_winograd_applicable(g))
      return conv2d_backward_winograd(g, nullptr, grad_y, kernel, grad_x, nullptr, nullptr);
  const ChunkPlan p = plan_chunks<T>(g);
  const std::int64_t in_image = g.in_h * g.in_w * g.in_c;
  const std::int64_t out_image = p.pixels * g.out_c;
  parallel::for_each_chunk(0, g.batch, p.images_per_chunk, [&](std::int64_t, std::int64_t n0, std::int64_t n1) {
    if (g.layout == Layout::NHWC) {  // grad_col [rows, patch] = grad_y [rows, out_c] x kernel^T
      const std::int64_t rows = (n1 - n0) * p.pixels;
      const T* gy = grad_y + n0 * out_image;
      T* gx = grad_x + n0 * in_image;
      if (p.pointwise) {
        p.gemm(false, true, rows, p.patch, g.out_c, gy, g.out_c, kernel, g.out_c, T(0), gx, p.patch);
        return;
      }
      ScratchBuffer<T> col(static_cast<std::size_t>(rows * p.patch));
      p.gemm(false, true, rows, p.patch, g.out_c, gy, g.out_c, kernel, g.out_c, T(0), col.data(), p.patch);
      col2im_nhwc(g, col.data(), n1 - n0, gx);
      return;
    }
    ScratchBuffer<T> col(p.pointwise ? 0 : static_cast<std::size_t>(p.patch * p.pixels));
    for (std::int64_t n = n0; n < n1; ++n) {  // grad_col [patch, pixels] = kernel [patch, out_c] x grad_y_n
      T* gx = grad_x + n * in_image;
      T* target = p.pointwise ? gx : col.data();
      p.gemm(false, false, p.patch, p.pixels, g.out_c, kernel, g.out_c, grad_y + n * out_image, p.pixels, T(0),
             target, p.pixels);
      if (!p.pointwise) col2im_nchw(g, col.data(), gx);
    }
  });
}

template <class T>
void conv2d_backward_kernel(const Conv2dGeometry& g, const T* x, const T* grad_y, T* grad_kernel, T* grad_bias) {
  if (conv2d_direct_applicable(g)) return conv2d_backward_kernel_direct(g, x, grad_y, grad_kernel, grad_bias);
  if constexpr (std::is_same_v<T, float>)
    if (conv2d_winograd_applicable(g))
      return conv2d_backward_winograd(g, x, grad_y, nullptr, nullptr, grad_kernel, grad_bias);
  const ChunkPlan p = plan_chunks<T>(g);
  const std::int64_t in_image = g.in_h * g.in_w * g.in_c;
  const std::int64_t out_image = p.pixels * g.out_c;
  const std::int64_t kernel_size = p.patch * g.out_c;
  // One partial per chunk, summed in chunk order afterwards; a lone chunk writes the outputs directly.
  const bool direct = p.chunks == 1;
  std::vector<T> kernel_parts(direct ? 0 : static_cast<std::size_t>(p.chunks * kernel_size));
  std::vector<T> bias_parts(direct || grad_bias == nullptr ? 0 : static_cast<std::size_t>(p.chunks * g.out_c));
  parallel::for_each_chunk(0, g.batch, p.images_per_chunk, [&](std::int64_t chunk, std::int64_t n0, std::int64_t n1) {
    T* gk = direct ? grad_kernel : kernel_parts.data() + chunk * kernel_size;
    T* gb = grad_bias == nullptr ? nullptr : direct ? grad_bias : bias_parts.data() + chunk * g.out_c;
    if (gb != nullptr) std::fill_n(gb, g.out_c, T(0));
    if (g.layout == Layout::NHWC) {  // grad_kernel [patch, out_c] = col^T [patch, rows] x grad_y [rows, out_c]
      const std::int64_t rows = (n1 - n0) * p.pixels;
      const T* gy = grad_y + n0 * out_image;
      const T* x_chunk = x + n0 * in_image;
      ScratchBuffer<T> col(p.pointwise ? 0 : static_cast<std::size_t>(rows * p.patch));
      if (!p.pointwise) im2col_nhwc(g, x_chunk, n1 - n0, col.data());
      p.gemm(true, false, p.patch, g.out_c, rows, p.pointwise ? x_chunk : col.data(), p.patch, gy, g.out_c, T(0), gk,
             g.out_c);
      if (gb != nullptr)
        for (std::int64_t r = 0; r < rows; ++r)
          for (std::int64_t o = 0; o < g.out_c; ++o) gb[o] += gy[r * g.out_c + o];
      return;
    }
    ScratchBuffer<T> col(p.pointwise ? 0 : static_cast<std::size_t>(p.patch * p.pixels));
    for (std::int64_t n = n0; n < n1; ++n) {  // grad_kernel += col [patch, pixels] x grad_y_n^T [pixels, out_c]
      const T* x_n = x + n * in_image;
      const T* gy = grad_y + n * out_image;
      if (!p.pointwise) im2col_nchw(g, x_n, col.data());
      p.gemm(false, true, p.patch, g.out_c, p.pixels, p.pointwise ? x_n : col.data(), p.pixels, gy, p.pixels,
             n == n0 ? T(0) : T(1), gk, g.out_c);
      if (gb != nullptr)
        for (std::int64_t o = 0; o < g.out_c; ++o) {
          T sum = T(0);
          for (std::int64_t i = 0; i < p.pixels; ++i) sum += gy[o * p.pixels + i];
          gb[o] += sum;
        }
    }
  });
  if (direct) return;
  sum_partials(kernel_parts, p.chunks, kernel_size, grad_kernel);
  if (grad_bias != nullptr) sum_partials(bias_parts, p.chunks, g.out_c, grad_bias);
}

template <class T>
void conv2d_backward(const Conv2dGeometry& g, const T* x, const T* grad_y, const T* kernel, T* grad_x, T* grad_kernel,
                     T* grad_bias) {
  if constexpr (std::is_same_v<T, float>)
    if (grad_x != nullptr && grad_kernel != nullptr && conv2d_winograd_applicable(g))
      return conv2d_backward_winograd(g, x, grad_y, kernel, grad_x, grad_kernel, grad_bias);
  if (grad_x != nullptr) conv2d_backward_input(g, grad_y, kernel, grad_x);
  if (grad_kernel != nullptr) conv2d_backward_kernel(g, x, grad_y, grad_kernel, grad_bias);
}

#define KEEL_INSTANTIATE_CONV2D(T)                                                                      \
  template void conv2d_forward<T>(const Conv2dGeometry&, const T*, const T*, const T*, T*, bool);             \
  template void conv2d_backward_input<T>(const Conv2dGeometry&, const T*, const T*, T*);                \
  template void conv2d_backward_kernel<T>(const Conv2dGeometry&, const T*, const T*, T*, T*);                \
  template void conv2d_backward<T>(const Conv2dGeometry&, const T*, const T*, const T*, T*, T*, T*);
KEEL_INSTANTIATE_CONV2D(float)
KEEL_INSTANTIATE_CONV2D(double)
#undef KEEL_INSTANTIATE_CONV2D

}  // namespace keel::kernels
