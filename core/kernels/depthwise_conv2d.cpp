#include "keel/core/kernels/depthwise_conv2d.h"

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <type_traits>
#include <vector>

#include "keel/core/error.h"
#include "keel/core/kernels/chunk_partials.h"
#include "keel/core/kernels/prefetch.h"
#include "keel/core/kernels/scratch_buffer.h"
#include "keel/core/kernels/simd.h"
#include "keel/core/kernels/window_geometry.h"
#include "keel/core/parallel.h"

namespace keel::kernels {
namespace {

// Each image's rows are cut into at most this many bands, so one image still keeps two threads busy.
constexpr std::int64_t kBandsPerImage = 4;
// The backward passes cut finer: a band's zero-padded grad_y and x copies and its grad_y rows then fit L2
// together (backward 8% faster on [64, 56, 56, 64], forward 3% slower with the finer cut).
constexpr std::int64_t kBackwardBandsPerImage = 8;
// At most this many chunks (of whole bands): bounds the kernel gradient's partials for any batch.
constexpr std::int64_t kMaxChunks = 64;
// Output pixels computed together by the generic loops: each kernel vector loaded serves this many FMAs.
constexpr int kPixels = 4;
// And by the 3 x 3 loops: eight sums in flight cover the FMA latency (4 cycles on two units) that four left
// half idle. The kernel gradient's loops hold nine sums, so four pixels' grad_y values fit beside them.
constexpr int kBlockPixels = 8;
constexpr int kKernelPixels = 4;

// Every lane computes its own output channels, so the ISA's own width serves (core/kernels/simd.h).
template <class T>
using Vec = typename NativeSimd<T>::V;
template <class T>
constexpr std::int64_t kLanes = NativeSimd<T>::lanes;

// Rows [0, rows) cut into bands, and the chunk grain over all (image, band) units of a batch.
struct Bands {
  std::int64_t rows_per_band, per_image, grain;
};
Bands bands_of(std::int64_t rows, std::int64_t batch, std::int64_t bands_per_image = kBandsPerImage) {
  const std::int64_t per_band = (rows + bands_per_image - 1) / bands_per_image;
  const std::int64_t per_image = (rows + per_band - 1) / per_band;
  const std::int64_t units = batch * per_image;
  return {per_band, per_image, std::max<std::int64_t>(1, (units + kMaxChunks - 1) / kMaxChunks)};
}

// Calls fn(chunk, n, row_begin, row_end) for every band of every image, chunk by chunk.
template <class Fn>
void for_each_band(const Bands& b, std::int64_t rows, std::int64_t batch, Fn&& fn) {
  parallel::for_each_chunk(0, batch * b.per_image, b.grain, [&](std::int64_t chunk, std::int64_t u0, std::int64_t u1) {
    for (std::int64_t u = u0; u < u1; ++u) {
      const std::int64_t n = u / b.per_image, r0 = (u % b.per_image) * b.rows_per_band;
      fn(chunk, n, r0, std::min(rows, r0 + b.rows_per_band));
    }
  });
}

// The band that for_each_band visits after the one that ends at row r1 of image n; n == batch after the
// last band.
struct BandRange {
  std::int64_t n, r0, r1;
};
BandRange next_band(const Bands& b, std::int64_t rows, std::int64_t n, std::int64_t r1) {
  if (r1 >= rows) ++n, r1 = 0;
  return {n, r1, std::min(rows, r1 + b.rows_per_band)};
}

// Rows [first, last) of image n of a [batch, rows, row_values] tensor (clipped to the image), which the next
// band will copy, fetched over `steps` steps of the current band (core/kernels/prefetch.h).
template <class T>
Prefetch prefetch_rows(const T* tensor, std::int64_t n, std::int64_t rows, std::int64_t row_values, std::int64_t first,
                       std::int64_t last, std::int64_t steps) {
  first = std::max<std::int64_t>(first, 0);
  last = std::min(last, rows);
  if (last <= first) return {};
  return {tensor + (n * rows + first) * row_values,
          (last - first) * row_values * static_cast<std::int64_t>(sizeof(T)), steps};
}

// The rows and columns the windows span, padding included ("padded" coordinates: input row = row - pad_top).
std::int64_t padded_height(const DepthwiseConv2dGeometry& g) { return (g.out_h - 1) * g.stride_h + (g.kernel_h - 1) * g.dilation_h + 1; }
std::int64_t padded_width(const DepthwiseConv2dGeometry& g) { return (g.out_w - 1) * g.stride_w + (g.kernel_w - 1) * g.dilation_w + 1; }

// Padded input rows as the loops read them: out_c values per pixel (channel c repeated multiplier times).
template <class T>
struct Rows {
  const T* base;
  std::int64_t first, stride;
  const T* row(std::int64_t padded_row) const { return base + (padded_row - first) * stride; }
};

// True when the loops can read x itself: no padding and no repeated channels.
bool reads_in_place(const DepthwiseConv2dGeometry& g) {
  return g.multiplier == 1 && g.pad_top == 0 && g.pad_left == 0 && padded_width(g) <= g.in_w &&
         padded_height(g) <= g.in_h;
}

// out[0, size) = `row` of `length` values placed at `offset`, zero around it (cut off at size).
template <class T>
void copy_padded(const T* row, std::int64_t length, std::int64_t offset, std::int64_t size, T* out) {
  const std::int64_t begin = std::clamp<std::int64_t>(offset, 0, size), end = std::clamp(offset + length, begin, size);
  std::fill(out, out + begin, T(0));
  std::copy(row + (begin - offset), row + (end - offset), out + begin);
  std::fill(out + end, out + size, T(0));
}

// Padded rows [r0, r1) of image n: x itself when reads_in_place, else a copy in `buffer`.
template <class T>
Rows<T> padded_rows(const DepthwiseConv2dGeometry& g, const T* x, std::int64_t n, std::int64_t r0, std::int64_t r1,
                    T* buffer) {
  const T* image = x + n * g.in_h * g.in_w * g.in_c;
  const std::int64_t width = padded_width(g), oc = g.out_c();
  if (reads_in_place(g)) return {image, 0, g.in_w * g.in_c};
  for (std::int64_t r = r0; r < r1; ++r) {
    const std::int64_t ih = r - g.pad_top;
    T* out = buffer + (r - r0) * width * oc;
    if (ih < 0 || ih >= g.in_h) {
      std::fill_n(out, width * oc, T(0));
      continue;
    }
    const T* x_row = image + ih * g.in_w * g.in_c;
    if (g.multiplier == 1) {
      copy_padded(x_row, g.in_w * oc, g.pad_left * oc, width * oc, out);
      continue;
    }
    for (std::int64_t col = 0; col < width; ++col, out += oc) {
      const std::int64_t iw = col - g.pad_left;
      if (iw < 0 || iw >= g.in_w)
        std::fill_n(out, oc, T(0));
      else
        for (std::int64_t c = 0; c < g.in_c; ++c)
          std::fill_n(out + c * g.multiplier, g.multiplier, x_row[iw * g.in_c + c]);
    }
  }
  return {buffer, r0, width * oc};
}

// Padded rows in channel blocks, as the 3 x 3 loops read them: channel block b (channels [b * L, b * L + L),
// L = kLanes<T>) of padded row r is `width` columns of L values, so each column of a block lies L values
// after the previous one, an offset the compiler folds into the loads. A channel after the last whole
// block is lane o % L of the last block.
template <class T>
struct BlockedRows {
  const T* base;
  std::int64_t first, width, blocks;
  const T* at(std::int64_t padded_row, std::int64_t o) const {
    return base + ((padded_row - first) * blocks + o / kLanes<T>) * width * kLanes<T> + o % kLanes<T>;
  }
};

// Whether the loops for 3 x 3 kernels run, which read channel-blocked rows and kernels.
bool blocked_loops(const DepthwiseConv2dGeometry& g) { return g.kernel_h == 3 && g.kernel_w == 3; }

template <class T>
std::int64_t channel_blocks(std::int64_t channels) {
  return (channels + kLanes<T> - 1) / kLanes<T>;
}

// One channel-blocked padded row (channel_blocks * width * L values) from the `pixels` NHWC pixels of
// `channels` values at src, placed from column `offset` on; the columns around them are zero. The lanes of
// the last block past `channels` are not written (never read).
template <class T>
void block_row(const T* src, std::int64_t pixels, std::int64_t offset, std::int64_t width, std::int64_t channels,
               T* out) {
  constexpr std::int64_t L = kLanes<T>;
  const std::int64_t whole = channels / L, rest = channels % L;
  const std::int64_t begin = std::clamp<std::int64_t>(offset, 0, width), end = std::clamp(offset + pixels, begin, width);
  for (std::int64_t b = 0; b < channel_blocks<T>(channels); ++b) {
    T* block = out + b * width * L;
    std::fill(block, block + begin * L, T(0));
    std::fill(block + end * L, block + width * L, T(0));
  }
  for (std::int64_t col = begin; col < end; ++col) {
    const T* px = src + (col - offset) * channels;
    for (std::int64_t b = 0; b < whole; ++b) store_as(out + (b * width + col) * L, load_as<Vec<T>>(px + b * L));
    if (rest) std::copy_n(px + whole * L, rest, out + (whole * width + col) * L);
  }
}

// A kernel [taps, channels] in the channel blocks of the 3 x 3 loops: block b holds each tap's L values of
// channels [b * L, b * L + L), tap after tap, zero past the last channel.
template <class T>
std::vector<T> blocked_kernel(const T* kernel, std::int64_t taps, std::int64_t channels) {
  constexpr std::int64_t L = kLanes<T>;
  std::vector<T> out(static_cast<std::size_t>(channel_blocks<T>(channels) * taps * L), T(0));
  for (std::int64_t t = 0; t < taps; ++t)
    for (std::int64_t o = 0; o < channels; ++o) out[((o / L) * taps + t) * L + o % L] = kernel[t * channels + o];
  return out;
}

// Padded rows [r0, r1) of image n in channel blocks, written to `buffer` (copy_size values).
template <class T>
BlockedRows<T> blocked_rows(const DepthwiseConv2dGeometry& g, const T* x, std::int64_t n, std::int64_t r0,
                            std::int64_t r1, T* buffer) {
  const T* image = x + n * g.in_h * g.in_w * g.in_c;
  const std::int64_t width = padded_width(g), oc = g.out_c(), blocks = channel_blocks<T>(oc);
  const std::int64_t row_size = blocks * width * kLanes<T>;
  T* repeated = buffer + (r1 - r0) * row_size;  // one input row with each channel repeated multiplier times
  for (std::int64_t r = r0; r < r1; ++r) {
    const std::int64_t ih = r - g.pad_top;
    T* out = buffer + (r - r0) * row_size;
    if (ih < 0 || ih >= g.in_h) {
      std::fill_n(out, row_size, T(0));
      continue;
    }
    const T* x_row = image + ih * g.in_w * g.in_c;
    if (g.multiplier > 1) {
      for (std::int64_t i = 0; i < g.in_w * g.in_c; ++i) std::fill_n(repeated + i * g.multiplier, g.multiplier, x_row[i]);
      x_row = repeated;
    }
    block_row(x_row, g.in_w, g.pad_left, width, oc, out);
  }
  return {buffer, r0, width, blocks};
}

// Whether an output of `elements` values is computed a row at a time in a cache-resident buffer and
// streamed to memory (core/kernels/simd.h): the loops store each pixel's channels in pieces, one channel
// block at a time, which streaming stores cannot take directly.
template <class T>
bool streams(std::int64_t elements) {
  return elements * static_cast<std::int64_t>(sizeof(T)) >= kStreamBytes;
}

// Padded rows the output rows [oh0, oh1) read.
struct RowSpan {
  std::int64_t first, last;
  // The values blocked_rows or padded_rows writes for them (none when padded_rows reads x in place).
  template <class T>
  std::int64_t copy_size(const DepthwiseConv2dGeometry& g) const {
    const std::int64_t width = padded_width(g), oc = g.out_c();
    if (blocked_loops(g))
      return (last - first) * channel_blocks<T>(oc) * width * kLanes<T> + (g.multiplier > 1 ? g.in_w * oc : 0);
    return reads_in_place(g) ? 0 : (last - first) * width * oc;
  }
};
RowSpan rows_read(const DepthwiseConv2dGeometry& g, std::int64_t oh0, std::int64_t oh1) {
  return {oh0 * g.stride_h, (oh1 - 1) * g.stride_h + (g.kernel_h - 1) * g.dilation_h + 1};
}

// The input rows that band `next` (of output rows) will copy, fetched over `steps` steps of the current band;
// nothing after the last band.
template <class T>
Prefetch prefetch_input_rows(const DepthwiseConv2dGeometry& g, const T* x, const BandRange& next, std::int64_t steps) {
  if (next.n >= g.batch) return {};
  const RowSpan read = rows_read(g, next.r0, next.r1);
  return prefetch_rows(x, next.n, g.in_h, g.in_w * g.in_c, read.first - g.pad_top, read.last - g.pad_top, steps);
}

// P output pixels of one output row, output channels [o, o + width of U), U = T or Vec<T>.
template <class T, class U, int P>
void forward_pixels(const DepthwiseConv2dGeometry& g, const Rows<T>& src, std::int64_t oh, std::int64_t ow,
                    std::int64_t o, const T* kernel, const T* bias, T* y_px) {
  const std::int64_t oc = g.out_c(), kernel_h = g.kernel_h, kernel_w = g.kernel_w;
  U acc[P];
  for (int p = 0; p < P; ++p) acc[p] = bias ? load_as<U>(bias + o) : U{};
  for (std::int64_t i = 0; i < kernel_h; ++i) {
    const T* s = src.row(oh * g.stride_h + i * g.dilation_h) + ow * g.stride_w * oc + o;
    const T* k = kernel + i * kernel_w * oc + o;
    for (std::int64_t j = 0; j < kernel_w; ++j) {
      const U kv = load_as<U>(k + j * oc);
      const T* sj = s + j * g.dilation_w * oc;
      for (int p = 0; p < P; ++p) acc[p] += load_as<U>(sj + p * g.stride_w * oc) * kv;
    }
  }
  for (int p = 0; p < P; ++p) store_as(y_px + p * oc + o, acc[p]);
}

template <class T, int P>
void forward_channels(const DepthwiseConv2dGeometry& g, const Rows<T>& src, std::int64_t oh, std::int64_t ow,
                      const T* kernel, const T* bias, T* y_px) {
  for_each_native_vector<T>(g.out_c(), [&](std::int64_t o, auto unit) {
    forward_pixels<T, decltype(unit), P>(g, src, oh, ow, o, kernel, bias, y_px);
  });
}

// Output row oh (or input row, for the gathered input gradient) of one image from padded rows src, any
// kernel size: P pixels at a time, all channels of each.
template <class T>
void forward_row(const DepthwiseConv2dGeometry& g, const Rows<T>& src, std::int64_t oh, std::int64_t width,
                 const T* kernel, const T* bias, T* y_row, Prefetch& ahead) {
  const std::int64_t oc = g.out_c();
  std::int64_t ow = 0;
  for (; ow + kPixels <= width; ow += kPixels) {
    ahead.step();
    forward_channels<T, kPixels>(g, src, oh, ow, kernel, bias, y_row + ow * oc);
  }
  for (; ow < width; ++ow) forward_channels<T, 1>(g, src, oh, ow, kernel, bias, y_row + ow * oc);
}

// Calls fn(contiguous, unit, o) for every channel block [o, o + width of unit) of a row, unit a Vec<T> and
// then a T for the channels left over; contiguous is std::true_type when the windows along the row are
// stride 1 and dilation 1, so that neighbouring pixels read neighbouring input columns.
template <class T, class Fn>
void for_each_channel_block(const DepthwiseConv2dGeometry& g, Fn&& fn) {
  const auto channels = [&](auto contiguous) {
    for_each_native_vector<T>(g.out_c(), [&](std::int64_t o, auto unit) { fn(contiguous, unit, o); });
  };
  if (g.stride_w == 1 && g.dilation_w == 1)
    channels(std::true_type{});
  else
    channels(std::false_type{});
}

// P output pixels from ow on, channels [o, o + width of U), of a KH x KW kernel known at compile time, from
// channel-blocked rows (rows[i]: kernel row i's input row at channel o) and kernel (at channel o). P
// independent sums keep both FMA units busy through their latency. Each output sums bias, then the taps in
// forward_pixels' order, so both paths give the same bits. Contiguous (stride 1, dilation 1 along the row):
// an input column is loaded once and serves every pixel whose window holds it; otherwise each tap loads its
// input.
template <class T, class U, int KH, int KW, int P, bool Contiguous>
void block_pixels(const T* const (&rows)[KH], std::int64_t ow, std::int64_t step, std::int64_t advance,
                  const T* kernel, std::int64_t oc, const U& b, T* y) {
  constexpr std::int64_t L = kLanes<T>;
  U acc[P];
  for (int p = 0; p < P; ++p) acc[p] = b;
  for (int i = 0; i < KH; ++i) {
    U k[KW];
    for (int j = 0; j < KW; ++j) k[j] = load_as<U>(kernel + (i * KW + j) * L);
    if constexpr (Contiguous) {
      const T* s = rows[i] + ow * L;
      for (int c = 0; c < P + KW - 1; ++c) {
        const U column = load_as<U>(s + c * L);
        for (int j = 0; j < KW; ++j)
          if (c - j >= 0 && c - j < P) acc[c - j] += column * k[j];
      }
    } else {
      const T* s = rows[i] + ow * advance;
      for (int j = 0; j < KW; ++j)
        for (int p = 0; p < P; ++p) acc[p] += load_as<U>(s + p * advance + j * step) * k[j];
    }
  }
  for (int p = 0; p < P; ++p) store_as(y + (ow + p) * oc, acc[p]);
}

// for_each_channel_block over output row oh of a 3 x 3 kernel's channel-blocked rows: fn(contiguous, unit,
// o, rows) also gets the three input rows at channel o.
template <class T, class Fn>
void for_each_blocked_channel(const DepthwiseConv2dGeometry& g, const BlockedRows<T>& src, std::int64_t oh, Fn&& fn) {
  for_each_channel_block<T>(g, [&](auto contiguous, auto unit, std::int64_t o) {
    const T* rows[3];
    for (int i = 0; i < 3; ++i) rows[i] = src.at(oh * g.stride_h + i * g.dilation_h, o);
    fn(contiguous, unit, o, rows);
  });
}

// forward_row for a 3 x 3 kernel, from channel-blocked rows and kernel (blocked_kernel): channel block by
// channel block, so the block's three input rows (a few KiB) stay in L1 while its pixels are computed.
template <class T>
void forward_row(const DepthwiseConv2dGeometry& g, const BlockedRows<T>& src, std::int64_t oh, std::int64_t width,
                 const T* kernel, const T* bias, T* y_row, Prefetch& ahead) {
  constexpr int K = 3;
  const std::int64_t oc = g.out_c(), step = g.dilation_w * kLanes<T>, advance = g.stride_w * kLanes<T>;
  for_each_blocked_channel(g, src, oh, [&](auto contiguous, auto unit, std::int64_t o, const T* const (&rows)[K]) {
    using U = decltype(unit);
    const U b = bias ? load_as<U>(bias + o) : U{};
    const T* k = kernel + (o / kLanes<T>) * K * K * kLanes<T> + o % kLanes<T>;
    std::int64_t ow = 0;
    for (; ow + kBlockPixels <= width; ow += kBlockPixels) {
      ahead.step();
      block_pixels<T, U, K, K, kBlockPixels, contiguous()>(rows, ow, step, advance, k, oc, b, y_row + o);
    }
    for (; ow < width; ++ow) block_pixels<T, U, K, K, 1, contiguous()>(rows, ow, step, advance, k, oc, b, y_row + o);
  });
}

// The kernel and bias gradients' terms of P pixels of one output row, channels [o, o + width of U).
template <class T, class U, int P>
void kernel_terms(const DepthwiseConv2dGeometry& g, const Rows<T>& src, std::int64_t oh, std::int64_t ow,
                  std::int64_t o, const T* gy_px, T* gk, T* gb) {
  const std::int64_t oc = g.out_c();
  U gy[P];
  for (int p = 0; p < P; ++p) gy[p] = load_as<U>(gy_px + p * oc + o);
  if (gb != nullptr) {
    U sum = load_as<U>(gb + o);
    for (int p = 0; p < P; ++p) sum += gy[p];
    store_as(gb + o, sum);
  }
  for (std::int64_t i = 0; i < g.kernel_h; ++i) {
    const T* s = src.row(oh * g.stride_h + i * g.dilation_h) + ow * g.stride_w * oc + o;
    T* k = gk + i * g.kernel_w * oc + o;
    for (std::int64_t j = 0; j < g.kernel_w; ++j) {
      const T* sj = s + j * g.dilation_w * oc;
      U sum = load_as<U>(k + j * oc);
      for (int p = 0; p < P; ++p) sum += load_as<U>(sj + p * g.stride_w * oc) * gy[p];
      store_as(k + j * oc, sum);
    }
  }
}

template <class T, int P>
void kernel_channels(const DepthwiseConv2dGeometry& g, const Rows<T>& src, std::int64_t oh, std::int64_t ow,
                     const T* gy_px, T* gk, T* gb) {
  for_each_native_vector<T>(g.out_c(), [&](std::int64_t o, auto unit) {
    kernel_terms<T, decltype(unit), P>(g, src, oh, ow, o, gy_px, gk, gb);
  });
}

template <class T>
void kernel_row(const DepthwiseConv2dGeometry& g, const Rows<T>& src, std::int64_t oh, const T* gy_row, T* gk, T* gb,
                Prefetch& ahead) {
  const std::int64_t oc = g.out_c();
  std::int64_t ow = 0;
  for (; ow + kPixels <= g.out_w; ow += kPixels) {
    ahead.step();
    kernel_channels<T, kPixels>(g, src, oh, ow, gy_row + ow * oc, gk, gb);
  }
  for (; ow < g.out_w; ++ow) kernel_channels<T, 1>(g, src, oh, ow, gy_row + ow * oc, gk, gb);
}

// The kernel and bias gradients' terms of output pixels [ow, ow + P), channels [o, o + width of U), of a
// KH x KW kernel known at compile time, from channel-blocked rows, added to the sums the caller holds. Each
// sum takes the pixels in the same order as kernel_terms does, so the two paths give the same bits.
// Contiguous: an input column is loaded once for every tap that reads it.
template <class T, class U, int KH, int KW, int P, bool Contiguous>
void kernel_pixels(const T* const (&rows)[KH], std::int64_t ow, std::int64_t step, std::int64_t advance,
                   const T* gy_row, std::int64_t oc, U (&acc)[KH * KW], U& bias_sum) {
  constexpr std::int64_t L = kLanes<T>;
  U gy[P];
  for (int p = 0; p < P; ++p) gy[p] = load_as<U>(gy_row + (ow + p) * oc);
  for (int p = 0; p < P; ++p) bias_sum += gy[p];
  for (int i = 0; i < KH; ++i) {
    if constexpr (Contiguous) {
      const T* s = rows[i] + ow * L;
      for (int c = 0; c < P + KW - 1; ++c) {
        const U column = load_as<U>(s + c * L);
        for (int j = 0; j < KW; ++j)
          if (c - j >= 0 && c - j < P) acc[i * KW + j] += column * gy[c - j];
      }
    } else {
      const T* s = rows[i] + ow * advance;
      for (int j = 0; j < KW; ++j)
        for (int p = 0; p < P; ++p) acc[i * KW + j] += load_as<U>(s + p * advance + j * step) * gy[p];
    }
  }
}

// kernel_row for a 3 x 3 kernel, from channel-blocked rows: channel block by channel block, the block's nine
// kernel sums and its bias sum held in registers across the row.
template <class T>
void kernel_row(const DepthwiseConv2dGeometry& g, const BlockedRows<T>& src, std::int64_t oh, const T* gy_row, T* gk,
                T* gb, Prefetch& ahead) {
  constexpr int K = 3;
  const std::int64_t oc = g.out_c(), step = g.dilation_w * kLanes<T>, advance = g.stride_w * kLanes<T>;
  for_each_blocked_channel(g, src, oh, [&](auto contiguous, auto unit, std::int64_t o, const T* const (&rows)[K]) {
    using U = decltype(unit);
    U acc[K * K];
    for (int t = 0; t < K * K; ++t) acc[t] = load_as<U>(gk + t * oc + o);
    U bias_sum = gb != nullptr ? load_as<U>(gb + o) : U{};
    std::int64_t ow = 0;
    for (; ow + kKernelPixels <= g.out_w; ow += kKernelPixels) {
      ahead.step();
      kernel_pixels<T, U, K, K, kKernelPixels, contiguous()>(rows, ow, step, advance, gy_row + o, oc, acc, bias_sum);
    }
    for (; ow < g.out_w; ++ow)
      kernel_pixels<T, U, K, K, 1, contiguous()>(rows, ow, step, advance, gy_row + o, oc, acc, bias_sum);
    for (int t = 0; t < K * K; ++t) store_as(gk + t * oc + o, acc[t]);
    if (gb != nullptr) store_as(gb + o, bias_sum);
  });
}

// The step() calls forward_row (for_kernel false) or kernel_row (true) makes for one row of `width` pixels.
template <class T>
std::int64_t row_steps(const DepthwiseConv2dGeometry& g, std::int64_t width, bool for_kernel) {
  if (!blocked_loops(g)) return width / kPixels;
  const std::int64_t oc = g.out_c(), channel_units = oc / kLanes<T> + oc % kLanes<T>;
  return channel_units * (width / (for_kernel ? kKernelPixels : kBlockPixels));
}

// One padded input row's gradient (out_c values per padded column) from output row oh through kernel row i:
// row[(ow * stride_w + j * dilation_w), o] += grad_y[oh, ow, o] * kernel[i, j, o].
template <class T, class U>
void input_terms(const DepthwiseConv2dGeometry& g, const T* gy_row, const T* kernel_row, std::int64_t o, T* row) {
  const std::int64_t oc = g.out_c();
  for (std::int64_t ow = 0; ow < g.out_w; ++ow) {
    const U gy = load_as<U>(gy_row + ow * oc + o);
    T* r = row + ow * g.stride_w * oc + o;
    for (std::int64_t j = 0; j < g.kernel_w; ++j) {
      T* p = r + j * g.dilation_w * oc;
      store_as(p, load_as<U>(p) + gy * load_as<U>(kernel_row + j * oc + o));
    }
  }
}

}  // namespace

DepthwiseConv2dGeometry depthwise_conv2d_geometry(std::int64_t batch, std::int64_t in_h, std::int64_t in_w,
                                                  std::int64_t in_c, std::int64_t multiplier, std::int64_t kernel_h,
                                                  std::int64_t kernel_w, std::int64_t stride_h, std::int64_t stride_w,
                                                  std::int64_t dilation_h, std::int64_t dilation_w, bool same_padding) {
  constexpr std::string_view op = "depthwise_conv2d";
  require_at_least(op, {{"batch", batch}, {"in_h", in_h}, {"in_w", in_w}, {"in_c", in_c}}, 1, true);
  require_at_least(op,
                   {{"depth_multiplier", multiplier}, {"kernel_h", kernel_h}, {"kernel_w", kernel_w},
                    {"stride_h", stride_h}, {"stride_w", stride_w}, {"dilation_h", dilation_h}, {"dilation_w", dilation_w}},
                   1, false);
  if ((stride_h > 1 || stride_w > 1) && (dilation_h > 1 || dilation_w > 1))
    throw ValueError(fmt::format("depthwise_conv2d: strides > 1 together with dilation_rate > 1 is not supported "
                                 "(Keras), got strides ({}, {}) and dilation_rate ({}, {})",
                                 stride_h, stride_w, dilation_h, dilation_w));
  const WindowExtent h = window_extent(op, "height", in_h, kernel_h, stride_h, dilation_h, same_padding);
  const WindowExtent w = window_extent(op, "width", in_w, kernel_w, stride_w, dilation_w, same_padding);
  return {batch,      in_h,       in_w,         in_c,          multiplier, kernel_h, kernel_w, stride_h,
          stride_w,   dilation_h, dilation_w,   h.pad_before,  w.pad_before, h.out,  w.out};
}

template <class T>
void depthwise_conv2d_forward(const DepthwiseConv2dGeometry& g, const T* x, const T* kernel, const T* bias, T* y) {
  const std::int64_t oc = g.out_c(), row_size = g.out_w * oc;
  const bool stream = streams<T>(g.batch * g.out_h * row_size);
  const Bands b = bands_of(g.out_h, g.batch);
  const std::vector<T> packed = blocked_loops(g) ? blocked_kernel(kernel, g.kernel_h * g.kernel_w, oc) : std::vector<T>();
  for_each_band(b, g.out_h, g.batch, [&](std::int64_t, std::int64_t n, std::int64_t oh0, std::int64_t oh1) {
    const RowSpan span = rows_read(g, oh0, oh1);
    const std::int64_t copy_size = span.copy_size<T>(g);
    const BandRange next = next_band(b, g.out_h, n, oh1);
    Prefetch ahead = prefetch_input_rows(g, x, next, (oh1 - oh0) * row_steps<T>(g, g.out_w, false));
    ScratchBuffer<T> buffer(static_cast<std::size_t>(copy_size + (stream ? row_size : 0)));
    T* row = buffer.data() + copy_size;
    const auto rows_from = [&](const auto& src, const T* k) {
      for (std::int64_t oh = oh0; oh < oh1; ++oh) {
        T* y_row = y + (n * g.out_h + oh) * row_size;
        forward_row(g, src, oh, g.out_w, k, bias, stream ? row : y_row, ahead);
        if (stream) stream_copy(y_row, row, row_size);
      }
    };
    if (blocked_loops(g))
      rows_from(blocked_rows(g, x, n, span.first, span.last, buffer.data()), packed.data());
    else
      rows_from(padded_rows(g, x, n, span.first, span.last, buffer.data()), kernel);
    if (stream) stream_fence();
  });
}

namespace {

// One input pixel's gradient from its out_c terms: the multiplier's copies of each channel summed in order.
template <class T>
void sum_copies(const DepthwiseConv2dGeometry& g, const T* terms, T* gx) {
  if (g.multiplier == 1) {
    std::copy_n(terms, g.in_c, gx);
    return;
  }
  for (std::int64_t c = 0; c < g.in_c; ++c) {
    T sum = terms[c * g.multiplier];
    for (std::int64_t m = 1; m < g.multiplier; ++m) sum += terms[c * g.multiplier + m];
    gx[c] = sum;
  }
}

// Strided: each output row adds its terms into the padded input rows it read (a scatter into a row the
// task owns).
template <class T>
void backward_input_scatter(const DepthwiseConv2dGeometry& g, const T* grad_y, const T* kernel, T* grad_x) {
  const std::int64_t oc = g.out_c(), width = padded_width(g);
  const Bands b = bands_of(g.in_h, g.batch, kBackwardBandsPerImage);
  for_each_band(b, g.in_h, g.batch, [&](std::int64_t, std::int64_t n, std::int64_t ih0, std::int64_t ih1) {
    ScratchBuffer<T> buffer(static_cast<std::size_t>(width * oc));
    T* row = buffer.data();
    for (std::int64_t ih = ih0; ih < ih1; ++ih) {
      std::fill_n(row, width * oc, T(0));
      const std::int64_t padded_row = ih + g.pad_top;
      for (std::int64_t i = 0; i < g.kernel_h; ++i) {
        const std::int64_t t = padded_row - i * g.dilation_h;
        if (t < 0 || t % g.stride_h != 0 || t / g.stride_h >= g.out_h) continue;
        const T* gy_row = grad_y + (n * g.out_h + t / g.stride_h) * g.out_w * oc;
        const T* kernel_row = kernel + i * g.kernel_w * oc;
        for_each_native_vector<T>(oc, [&](std::int64_t o, auto unit) {
          input_terms<T, decltype(unit)>(g, gy_row, kernel_row, o, row);
        });
      }
      // Columns the windows never reach (the right edge under "valid") get zero.
      T* gx_row = grad_x + (n * g.in_h + ih) * g.in_w * g.in_c;
      for (std::int64_t iw = 0; iw < g.in_w; ++iw) {
        const std::int64_t col = iw + g.pad_left;
        if (col >= width)
          std::fill_n(gx_row + iw * g.in_c, g.in_c, T(0));
        else
          sum_copies(g, row + col * oc, gx_row + iw * g.in_c);
      }
    }
  });
}

// Stride 1: in padded coordinates grad_x[r, c] = sum over (i, j) of grad_y[r - i * dh, c - j * dw] * kernel[i, j],
// the forward loops (accumulating in registers) over grad_y zero-padded by (k - 1) * d on each side with the
// kernel flipped.
template <class T>
class InputGather {
 public:
  InputGather(const DepthwiseConv2dGeometry& g, const T* kernel)
      : g_(g), unit_(g), flipped_(static_cast<std::size_t>(g.kernel_h * g.kernel_w * g.out_c())) {
    const std::int64_t oc = g.out_c(), taps = g.kernel_h * g.kernel_w;
    for (std::int64_t t = 0; t < taps; ++t) std::copy_n(kernel + (taps - 1 - t) * oc, oc, flipped_.data() + t * oc);
    if (blocked_loops(g)) flipped_ = blocked_kernel(flipped_.data(), taps, oc);
    unit_.in_c = oc;  // what forward_row reads: out_c channels, stride 1
    unit_.multiplier = 1;
    stream_ = g.multiplier == 1 && streams<T>(g.batch * g.in_h * g.in_w * g.in_c);
  }

  // grad_x rows [ih0, ih1) of image n; the grad_y rows of band `next` are fetched meanwhile.
  void band(const T* grad_y, T* grad_x, std::int64_t n, std::int64_t ih0, std::int64_t ih1, const BandRange& next) const {
    const DepthwiseConv2dGeometry& g = g_;
    const std::int64_t oc = g.out_c();
    const std::int64_t halo_h = (g.kernel_h - 1) * g.dilation_h, halo_w = (g.kernel_w - 1) * g.dilation_w;
    // The grad_y rows band `next` will copy (nothing after the last band).
    Prefetch ahead;
    if (next.n < g.batch)
      ahead = prefetch_rows(grad_y, next.n, g.out_h, g.out_w * oc, g.pad_top + next.r0 - halo_h, g.pad_top + next.r1,
                            (ih1 - ih0) * row_steps<T>(unit_, g.in_w, false));
    const std::int64_t width = g.in_w + halo_w;  // the grad_y columns an input row reads, from padded column pad_left
    // Row a of the padded grad_y is output row a - halo_h; the band reads rows [pad_top + ih0, pad_top + ih1 + halo_h).
    const std::int64_t a0 = g.pad_top + ih0, a1 = g.pad_top + ih1 + halo_h;
    const bool blocked = blocked_loops(g);
    const std::int64_t row_size = blocked ? channel_blocks<T>(oc) * width * kLanes<T> : width * oc;
    const std::int64_t rows_size = (a1 - a0) * row_size;
    ScratchBuffer<T> buffer(static_cast<std::size_t>(rows_size + (g.multiplier > 1 || stream_ ? g.in_w * oc : 0)));
    for (std::int64_t a = a0; a < a1; ++a) {
      const std::int64_t oh = a - halo_h;
      T* out = buffer.data() + (a - a0) * row_size;
      if (oh < 0 || oh >= g.out_h) {
        std::fill_n(out, row_size, T(0));
        continue;
      }
      const T* gy_row = grad_y + (n * g.out_h + oh) * g.out_w * oc;
      if (blocked)
        block_row(gy_row, g.out_w, halo_w - g.pad_left, width, oc, out);
      else
        copy_padded(gy_row, g.out_w * oc, (halo_w - g.pad_left) * oc, width * oc, out);
    }
    T* terms = buffer.data() + rows_size;  // a row of out_c values per pixel, when they are not grad_x itself
    const auto rows_from = [&](const auto& src) {
      for (std::int64_t ih = ih0; ih < ih1; ++ih) {
        T* gx_row = grad_x + (n * g.in_h + ih) * g.in_w * g.in_c;
        const bool direct = g.multiplier == 1 && !stream_;
        forward_row<T>(unit_, src, ih + g.pad_top, g.in_w, flipped_.data(), nullptr, direct ? gx_row : terms, ahead);
        if (g.multiplier > 1)
          for (std::int64_t iw = 0; iw < g.in_w; ++iw) sum_copies(g, terms + iw * oc, gx_row + iw * g.in_c);
        else if (stream_)
          stream_copy(gx_row, terms, g.in_w * oc);
      }
    };
    if (blocked)
      rows_from(BlockedRows<T>{buffer.data(), a0, width, channel_blocks<T>(oc)});
    else
      rows_from(Rows<T>{buffer.data(), a0, width * oc});
    if (stream_) stream_fence();
  }

 private:
  const DepthwiseConv2dGeometry& g_;
  DepthwiseConv2dGeometry unit_;
  std::vector<T> flipped_;
  bool stream_ = false;
};

// The kernel and bias gradients: one partial per chunk of output-row bands (kernel, then bias), summed in
// chunk order by finish().
template <class T>
class KernelGradient {
 public:
  explicit KernelGradient(const DepthwiseConv2dGeometry& g)
      : g_(g),
        bands_(bands_of(g.out_h, g.batch, kBackwardBandsPerImage)),
        kernel_size_(g.kernel_h * g.kernel_w * g.out_c()),
        part_size_(kernel_size_ + g.out_c()),
        chunks_(parallel::num_chunks(0, g.batch * bands_.per_image, bands_.grain)),
        parts_(static_cast<std::size_t>(chunks_ * part_size_), T(0)) {}

  const Bands& bands() const { return bands_; }

  // Adds the terms of output rows [oh0, oh1) of image n to chunk's partial; the x rows of band `next` are
  // fetched meanwhile.
  void band(const T* x, const T* grad_y, bool with_bias, std::int64_t chunk, std::int64_t n, std::int64_t oh0,
            std::int64_t oh1, const BandRange& next) {
    const DepthwiseConv2dGeometry& g = g_;
    const RowSpan span = rows_read(g, oh0, oh1);
    Prefetch ahead = prefetch_input_rows(g, x, next, (oh1 - oh0) * row_steps<T>(g, g.out_w, true));
    ScratchBuffer<T> buffer(static_cast<std::size_t>(span.copy_size<T>(g)));
    T* gk = parts_.data() + chunk * part_size_;
    T* gb = with_bias ? gk + kernel_size_ : nullptr;
    const auto rows_from = [&](const auto& src) {
      for (std::int64_t oh = oh0; oh < oh1; ++oh)
        kernel_row(g, src, oh, grad_y + (n * g.out_h + oh) * g.out_w * g.out_c(), gk, gb, ahead);
    };
    if (blocked_loops(g))
      rows_from(blocked_rows(g, x, n, span.first, span.last, buffer.data()));
    else
      rows_from(padded_rows(g, x, n, span.first, span.last, buffer.data()));
  }

  void finish(T* grad_kernel, T* grad_bias) const {
    std::vector<T> total(static_cast<std::size_t>(part_size_));
    sum_partials(parts_, chunks_, part_size_, total.data());
    std::copy_n(total.data(), kernel_size_, grad_kernel);
    if (grad_bias != nullptr) std::copy_n(total.data() + kernel_size_, g_.out_c(), grad_bias);
  }

 private:
  const DepthwiseConv2dGeometry& g_;
  Bands bands_;
  std::int64_t kernel_size_, part_size_, chunks_;
  std::vector<T> parts_;
};

// Stride 1 with as many input rows as output rows ("same"): both gradients band by band, so each band of
// grad_y is read from memory once for the two.
bool fuses_backward(const DepthwiseConv2dGeometry& g) {
  return g.stride_h == 1 && g.stride_w == 1 && g.in_h == g.out_h;
}

}  // namespace

template <class T>
void depthwise_conv2d_backward(const DepthwiseConv2dGeometry& g, const T* x, const T* grad_y, const T* kernel,
                               T* grad_x, T* grad_kernel, T* grad_bias) {
  if (grad_kernel == nullptr && grad_bias != nullptr)
    throw UsageError("depthwise_conv2d_backward: grad_bias comes with grad_kernel, which is null");
  const bool gathers = grad_x != nullptr && g.stride_h == 1 && g.stride_w == 1;
  if (grad_x != nullptr && !gathers) backward_input_scatter(g, grad_y, kernel, grad_x);
  std::optional<InputGather<T>> gather;
  if (gathers) gather.emplace(g, kernel);
  if (gathers && (grad_kernel == nullptr || !fuses_backward(g))) {
    const Bands b = bands_of(g.in_h, g.batch, kBackwardBandsPerImage);
    for_each_band(b, g.in_h, g.batch, [&](std::int64_t, std::int64_t n, std::int64_t ih0, std::int64_t ih1) {
      gather->band(grad_y, grad_x, n, ih0, ih1, next_band(b, g.in_h, n, ih1));
    });
    gather.reset();
  }
  if (grad_kernel == nullptr) return;
  KernelGradient<T> kernel_gradient(g);
  for_each_band(kernel_gradient.bands(), g.out_h, g.batch,
                [&](std::int64_t chunk, std::int64_t n, std::int64_t oh0, std::int64_t oh1) {
                  const BandRange next = next_band(kernel_gradient.bands(), g.out_h, n, oh1);
                  if (gather) gather->band(grad_y, grad_x, n, oh0, oh1, next);
                  kernel_gradient.band(x, grad_y, grad_bias != nullptr, chunk, n, oh0, oh1, next);
                });
  kernel_gradient.finish(grad_kernel, grad_bias);
}

template <class T>
void depthwise_conv2d_backward_input(const DepthwiseConv2dGeometry& g, const T* grad_y, const T* kernel, T* grad_x) {
  depthwise_conv2d_backward<T>(g, nullptr, grad_y, kernel, grad_x, nullptr, nullptr);
}

template <class T>
void depthwise_conv2d_backward_kernel(const DepthwiseConv2dGeometry& g, const T* x, const T* grad_y, T* grad_kernel,
                                      T* grad_bias) {
  depthwise_conv2d_backward<T>(g, x, grad_y, nullptr, nullptr, grad_kernel, grad_bias);
}

#define KEEL_INSTANTIATE_DEPTHWISE_CONV2D(T)                                                                    \
  template void depthwise_conv2d_forward<T>(const DepthwiseConv2dGeometry&, const T*, const T*, const T*, T*); \
  template void depthwise_conv2d_backward<T>(const DepthwiseConv2dGeometry&, const T*, const T*, const T*, T*, T*, \
                                             T*);                                                             \
  template void depthwise_conv2d_backward_input<T>(const DepthwiseConv2dGeometry&, const T*, const T*, T*);    \
  template void depthwise_conv2d_backward_kernel<T>(const DepthwiseConv2dGeometry&, const T*, const T*, T*, T*);
KEEL_INSTANTIATE_DEPTHWISE_CONV2D(float)
KEEL_INSTANTIATE_DEPTHWISE_CONV2D(double)
#undef KEEL_INSTANTIATE_DEPTHWISE_CONV2D

}  // namespace keel::kernels
