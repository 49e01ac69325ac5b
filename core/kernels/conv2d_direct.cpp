#include "keel/core/kernels/conv2d_direct.h"

#include <algorithm>
#include <array>
#include <type_traits>
#include <vector>

#include "keel/core/kernels/chunk_partials.h"
#include "keel/core/kernels/detail/dispatch_flags.h"
#include "keel/core/kernels/scratch_buffer.h"
#include "keel/core/kernels/simd.h"
#include "keel/core/parallel.h"

namespace keel::kernels {
namespace {

// The batch is cut into this many chunks of whole images (fewer for a small batch).
constexpr std::int64_t kChunks = 8;
// Output pixels computed together: each kernel row loaded serves this many FMAs. The forward's sums are
// chains of one FMA per tap, so it takes enough pixels to keep both FMA units busy through their latency.
constexpr int kPixels = 4;
constexpr int kForwardPixels = 8;

// The input as the loops read it: the images themselves, or a zero-padded copy when some window
// reaches outside them, so the inner loops never test bounds.
template <class T>
struct Source {
  const T* data;
  std::int64_t h, w, c;  // per image

  std::int64_t pixel(std::int64_t n, std::int64_t row, std::int64_t col) const { return ((n * h + row) * w + col) * c; }
};

// Rows and columns that the windows span, padding included.
struct Extent {
  std::int64_t h, w;
};
Extent windows_extent(const Conv2dGeometry& g) {
  return {(g.out_h - 1) * g.stride_h + (g.kernel_h - 1) * g.dilation_h + 1,
          (g.out_w - 1) * g.stride_w + (g.kernel_w - 1) * g.dilation_w + 1};
}

bool needs_padding(const Conv2dGeometry& g) {
  const Extent e = windows_extent(g);
  return g.pad_top > 0 || g.pad_left > 0 || e.h > g.in_h || e.w > g.in_w;
}

// Images [n0, n1) of x as a Source; `padded` holds the copy when the geometry pads.
template <class T>
Source<T> source_for(const Conv2dGeometry& g, const T* x, std::int64_t n0, std::int64_t n1, ScratchBuffer<T>& padded) {
  const std::int64_t image = g.in_h * g.in_w * g.in_c;
  if (!needs_padding(g)) return {x + n0 * image, g.in_h, g.in_w, g.in_c};
  const auto [h, w] = windows_extent(g);
  T* out = padded.data();
  for (std::int64_t n = n0; n < n1; ++n)
    for (std::int64_t r = 0; r < h; ++r) {
      const std::int64_t in_r = r - g.pad_top;
      for (std::int64_t col = 0; col < w; ++col, out += g.in_c) {
        const std::int64_t in_col = col - g.pad_left;
        if (in_r < 0 || in_r >= g.in_h || in_col < 0 || in_col >= g.in_w)
          std::fill_n(out, g.in_c, T(0));
        else
          std::copy_n(x + ((n * g.in_h + in_r) * g.in_w + in_col) * g.in_c, g.in_c, out);
      }
    }
  return {padded.data(), h, w, g.in_c};
}

std::size_t padded_size(const Conv2dGeometry& g, std::int64_t images) {
  if (!needs_padding(g)) return 0;
  const Extent e = windows_extent(g);
  return static_cast<std::size_t>(images * e.h * e.w * g.in_c);
}

// Offsets of the kernel's taps (i, j, c), in the kernel's own order, from a window's first value.
template <class T>
std::array<std::int64_t, kDirectMaxPatch> tap_offsets(const Conv2dGeometry& g, const Source<T>& s) {
  std::array<std::int64_t, kDirectMaxPatch> off{};
  std::int64_t t = 0;
  for (std::int64_t i = 0; i < g.kernel_h; ++i)
    for (std::int64_t j = 0; j < g.kernel_w; ++j)
      for (std::int64_t c = 0; c < g.in_c; ++c)
        off[static_cast<std::size_t>(t++)] = (i * g.dilation_h * s.w + j * g.dilation_w) * s.c + c;
  return off;
}

std::int64_t images_per_chunk(const Conv2dGeometry& g) { return std::max<std::int64_t>(1, (g.batch + kChunks - 1) / kChunks); }

// Every lane computes its own output channels, so the ISA's own width serves (core/kernels/simd.h): 64-byte
// vectors would be lowered to AVX2 halves and spilled.
template <class T>
using Vec = typename NativeSimd<T>::V;
template <class T>
constexpr std::int64_t kLanes = NativeSimd<T>::lanes;
template <class T>
Vec<T> load(const T* p) {
  return load_as<Vec<T>>(p);
}
template <class T>
void store(T* p, Vec<T> v) {
  store_as(p, v);
}

// P output pixels along a row times one vector of output channels, accumulated in registers. Stream:
// stored with streaming stores.
template <class T, int P, bool Stream>
void forward_block(const T* window0, std::int64_t pixel_step, const std::int64_t* off, std::int64_t patch,
                   const T* kernel, std::int64_t out_c, const T* bias, T* y) {
  Vec<T> acc[P];
  const Vec<T> start = bias ? load(bias) : Vec<T>{};
  for (int p = 0; p < P; ++p) acc[p] = start;
  for (std::int64_t t = 0; t < patch; ++t) {
    const Vec<T> k = load(kernel + t * out_c);
    for (int p = 0; p < P; ++p) acc[p] += window0[p * pixel_step + off[t]] * k;
  }
  for (int p = 0; p < P; ++p) store_output<Stream>(y + p * out_c, acc[p]);
}

// The channels left over after the whole vectors, one at a time.
template <class T>
void forward_tail(const T* window0, std::int64_t pixel_step, int pixels, const std::int64_t* off, std::int64_t patch,
                  const T* kernel, std::int64_t out_c, const T* bias, T* y, std::int64_t width) {
  for (int p = 0; p < pixels; ++p)
    for (std::int64_t o = 0; o < width; ++o) {
      T acc = bias ? bias[o] : T(0);
      for (std::int64_t t = 0; t < patch; ++t) acc += window0[p * pixel_step + off[t]] * kernel[t * out_c + o];
      y[p * out_c + o] = acc;
    }
}

template <class T, int P, bool Stream>
void forward_pixels(const Conv2dGeometry& g, const T* window0, const std::int64_t* off, const T* kernel, const T* bias,
                    T* y, bool relu) {
  const std::int64_t patch = g.kernel_h * g.kernel_w * g.in_c, step = g.stride_w * g.in_c;
  std::int64_t o = 0;
  for (; o + kLanes<T> <= g.out_c; o += kLanes<T>)
    forward_block<T, P, Stream>(window0, step, off, patch, kernel + o, g.out_c, bias ? bias + o : nullptr, y + o);
  if (o < g.out_c)
    forward_tail(window0, step, P, off, patch, kernel + o, g.out_c, bias ? bias + o : nullptr, y + o, g.out_c - o);
  if (relu)  // the P pixels' outputs are still in L1
    for (std::int64_t i = 0; i < P * g.out_c; ++i) y[i] = y[i] > T(0) || y[i] != y[i] ? y[i] : T(0);
}

// a[o] += sum over the P pixels of x[p] * g[p][o], whole vectors then the rest.
template <class T, int P>
void accumulate_outer(T* a, const T* x, const T* const* g, std::int64_t out_c) {
  std::int64_t o = 0;
  for (; o + kLanes<T> <= out_c; o += kLanes<T>) {
    Vec<T> sum = load(a + o);
    for (int p = 0; p < P; ++p) sum += x[p] * load(g[p] + o);
    store(a + o, sum);
  }
  for (; o < out_c; ++o)
    for (int p = 0; p < P; ++p) a[o] += x[p] * g[p][o];
}

// The kernel and bias gradients' contributions of P pixels along a row, starting at column ow.
template <class T, int P>
void backward_pixels(const T* row, std::int64_t step, std::int64_t ow, const T* gy_row, const std::int64_t* off,
                     std::int64_t patch, std::int64_t out_c, T* gk, T* gb) {
  const T* g[P];
  for (int p = 0; p < P; ++p) g[p] = gy_row + (ow + p) * out_c;
  T one[P];
  std::fill_n(one, P, T(1));  // the bias gradient: the same sums with x = 1 (exact)
  accumulate_outer<T, P>(gb, one, g, out_c);
  const T* w0 = row + ow * step;
  for (std::int64_t t = 0; t < patch; ++t) {
    T x[P];
    for (int p = 0; p < P; ++p) x[p] = w0[p * step + off[t]];
    accumulate_outer<T, P>(gk + t * out_c, x, g, out_c);
  }
}

// The common first layers (3x3 over 1 or 3 channels) with the patch known at compile time: all
// Patch sums of one vector of channels live in registers while a row of pixels streams past.
template <class T, int Patch>
void backward_row_registers(const T* row, std::int64_t step, std::int64_t out_w, const T* gy_row,
                            const std::int64_t* off, std::int64_t out_c, T* gk, T* gb) {
  for (std::int64_t o = 0; o + kLanes<T> <= out_c; o += kLanes<T>) {
    Vec<T> acc[Patch];
    Vec<T> bias_acc = load(gb + o);
    for (int t = 0; t < Patch; ++t) acc[t] = load(gk + t * out_c + o);
    for (std::int64_t ow = 0; ow < out_w; ++ow) {
      const Vec<T> g = load(gy_row + ow * out_c + o);
      const T* w0 = row + ow * step;
      bias_acc += g;
      for (int t = 0; t < Patch; ++t) acc[t] += w0[off[t]] * g;
    }
    store(gb + o, bias_acc);
    for (int t = 0; t < Patch; ++t) store(gk + t * out_c + o, acc[t]);
  }
}

}  // namespace

bool conv2d_direct_applicable(const Conv2dGeometry& g) {
  return g.layout == Layout::NHWC && g.kernel_h * g.kernel_w * g.in_c <= kDirectMaxPatch;
}

// Whether the forward pass writes y with streaming stores (simd.h's kStreamBytes): it moves 16 MiB or
// more (the first layer of a large inference batch), and every store is a whole aligned vector that the
// ReLU pass does not read back.
template <class T>
bool streams_output(const Conv2dGeometry& g, const T* y, bool relu) {
  const std::int64_t values = g.batch * (g.in_h * g.in_w * g.in_c + g.out_h * g.out_w * g.out_c);
  return streams_pass(values, y) && !relu && g.out_c % kLanes<T> == 0;
}

template <class T>
void conv2d_forward_direct(const Conv2dGeometry& g, const T* x, const T* kernel, const T* bias, T* y, bool relu) {
  auto images = [&](auto streamed) {
    constexpr bool S = decltype(streamed)::value;
    parallel::for_each_chunk(0, g.batch, images_per_chunk(g), [&](std::int64_t, std::int64_t n0, std::int64_t n1) {
      ScratchBuffer<T> padded(padded_size(g, n1 - n0));
      const Source<T> s = source_for(g, x, n0, n1, padded);
      const auto off = tap_offsets(g, s);
      for (std::int64_t n = n0; n < n1; ++n)
        for (std::int64_t oh = 0; oh < g.out_h; ++oh) {
          T* y_row = y + ((n * g.out_h + oh) * g.out_w) * g.out_c;
          std::int64_t ow = 0;
          // Runs of 8, then 4, then single pixels: the pixels left to the single-pixel sums (which GCC, tuned
          // for Zen, builds from multiplies and adds rather than one chain of FMAs) are those 4 alone left.
          const auto pixels = [&](auto count) {
            constexpr int P = decltype(count)::value;
            for (; ow + P <= g.out_w; ow += P)
              forward_pixels<T, P, S>(g, s.data + s.pixel(n - n0, oh * g.stride_h, ow * g.stride_w), off.data(),
                                      kernel, bias, y_row + ow * g.out_c, relu);
          };
          pixels(std::integral_constant<int, kForwardPixels>{});
          pixels(std::integral_constant<int, kForwardPixels / 2>{});
          pixels(std::integral_constant<int, 1>{});
        }
      if constexpr (S) stream_fence();
    });
  };
  detail::dispatch_flags(images, streams_output(g, y, relu));
}

template <class T>
void conv2d_backward_kernel_direct(const Conv2dGeometry& g, const T* x, const T* grad_y, T* grad_kernel, T* grad_bias) {
  const std::int64_t patch = g.kernel_h * g.kernel_w * g.in_c, out_c = g.out_c;
  const std::int64_t kernel_size = patch * out_c, per_chunk = images_per_chunk(g);
  const std::int64_t chunks = parallel::num_chunks(0, g.batch, per_chunk);
  // One partial per chunk (kernel then bias), summed in chunk order afterwards.
  const std::int64_t part_size = kernel_size + out_c;
  std::vector<T> parts(static_cast<std::size_t>(chunks * part_size), T(0));
  parallel::for_each_chunk(0, g.batch, per_chunk, [&](std::int64_t chunk, std::int64_t n0, std::int64_t n1) {
    ScratchBuffer<T> padded(padded_size(g, n1 - n0));
    const Source<T> s = source_for(g, x, n0, n1, padded);
    const auto off = tap_offsets(g, s);
    T* gk = parts.data() + chunk * part_size;
    T* gb = gk + kernel_size;
    const std::int64_t step = g.stride_w * g.in_c;
    for (std::int64_t n = n0; n < n1; ++n)
      for (std::int64_t oh = 0; oh < g.out_h; ++oh) {
        const T* gy_row = grad_y + ((n * g.out_h + oh) * g.out_w) * out_c;
        const T* row = s.data + s.pixel(n - n0, oh * g.stride_h, 0);
        if (out_c % kLanes<T> == 0 && (patch == 9 || patch == 27)) {
          (patch == 9 ? backward_row_registers<T, 9> : backward_row_registers<T, 27>)(row, step, g.out_w, gy_row,
                                                                                   off.data(), out_c, gk, gb);
          continue;
        }
        std::int64_t ow = 0;
        for (; ow + kPixels <= g.out_w; ow += kPixels)
          backward_pixels<T, kPixels>(row, step, ow, gy_row, off.data(), patch, out_c, gk, gb);
        for (; ow < g.out_w; ++ow) backward_pixels<T, 1>(row, step, ow, gy_row, off.data(), patch, out_c, gk, gb);
      }
  });
  std::vector<T> total(static_cast<std::size_t>(part_size));
  sum_partials(parts, chunks, part_size, total.data());
  std::copy_n(total.data(), kernel_size, grad_kernel);
  if (grad_bias != nullptr) std::copy_n(total.data() + kernel_size, out_c, grad_bias);
}

#define KEEL_INSTANTIATE_CONV2D_DIRECT(T)                                                              \
  template void conv2d_forward_direct<T>(const Conv2dGeometry&, const T*, const T*, const T*, T*, bool); \
  template void conv2d_backward_kernel_direct<T>(const Conv2dGeometry&, const T*, const T*, T*, T*);
KEEL_INSTANTIATE_CONV2D_DIRECT(float)
KEEL_INSTANTIATE_CONV2D_DIRECT(double)
#undef KEEL_INSTANTIATE_CONV2D_DIRECT

}  // namespace keel::kernels
