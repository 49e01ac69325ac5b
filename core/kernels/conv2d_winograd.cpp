#include "keel/core/kernels/conv2d_winograd.h"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

#include "keel/core/kernels/chunk_partials.h"
#include "keel/core/kernels/scratch_buffer.h"
#include "keel/core/kernels/simd.h"
#include "keel/core/parallel.h"

namespace keel::kernels {
namespace {

using V = NativeSimd<float>::V;
constexpr std::int64_t kLanes = NativeSimd<float>::lanes;
// The GEMM's register block: 6 tiles by 2 vectors of outputs, 12 accumulators (AVX2 has 16 registers).
constexpr std::int64_t kBlockTiles = 6;
constexpr std::int64_t kBlockOutputs = 2 * kLanes;
// A block of tiles is transformed, multiplied and transformed back while its inputs and products
// (16 positions each) stay in L2.
constexpr std::int64_t kTileBlockBytes = std::int64_t{256} << 10;
constexpr int kPositions = 16;  // the 4x4 transformed tile
// The kernel gradient sums one partial per chunk of images; at least this many chunks when the batch allows.
constexpr std::int64_t kMinChunks = 8;

// A 3x3 stride-1 convolution of `in` [batch, in_h, in_w, channels] into `out` [batch, out_h, out_w, outputs],
// out[h, w, o] = sum over (i, j, c) of in[h - pad_top + i, w - pad_left + j, c] * kernel[i, j, c, o].
struct Problem {
  std::int64_t batch, in_h, in_w, channels, outputs, pad_top, pad_left, out_h, out_w;
  std::int64_t tiles_h() const { return (out_h + 1) / 2; }
  std::int64_t tiles_w() const { return (out_w + 1) / 2; }
};

// U[e][c][o] = (G g G^T)[e] of the 3x3 kernel g[i][j] = kernel[i][j][c][o] (Keras's [3, 3, channels, outputs]),
// with G = [[1, 0, 0], [1/2, 1/2, 1/2], [1/2, -1/2, 1/2], [0, 0, 1]], a vector of outputs at a time; with
// Transposed, stored as U[e][o][c].
template <bool Transposed>
std::vector<float> transform_kernel(const float* kernel, std::int64_t channels, std::int64_t outputs) {
  std::vector<float> u(static_cast<std::size_t>(kPositions * channels * outputs));
  parallel::for_each_chunk(0, channels, 8, [&](std::int64_t, std::int64_t c0, std::int64_t c1) {
    for (std::int64_t c = c0; c < c1; ++c)
      for (std::int64_t o = 0; o < outputs; o += kLanes) {
        const auto tap = [&](int i, int j) { return load_as<V>(kernel + ((i * 3 + j) * channels + c) * outputs + o); };
        V gg[4][3];  // G g
        for (int j = 0; j < 3; ++j) {
          const V g0 = tap(0, j), g1 = tap(1, j), g2 = tap(2, j);
          gg[0][j] = g0;
          gg[1][j] = 0.5f * (g0 + g1 + g2);
          gg[2][j] = 0.5f * (g0 - g1 + g2);
          gg[3][j] = g2;
        }
        for (int i = 0; i < 4; ++i) {  // (G g) G^T
          const V row[4] = {gg[i][0], 0.5f * (gg[i][0] + gg[i][1] + gg[i][2]), 0.5f * (gg[i][0] - gg[i][1] + gg[i][2]),
                            gg[i][2]};
          for (int j = 0; j < 4; ++j) {
            const std::int64_t e = i * 4 + j;
            if constexpr (Transposed)
              for (std::int64_t lane = 0; lane < kLanes; ++lane)
                u[static_cast<std::size_t>((e * outputs + o + lane) * channels + c)] = row[j][lane];
            else
              store_as(u.data() + (e * channels + c) * outputs + o, row[j]);
          }
        }
      }
  });
  return u;
}

// Where the input tiles are read: the 4x4 input tile of the outputs whose corner is (top, left) starts at
// data + top * row_stride + left * channels, and every position of it lies inside `data`.
struct TileSource {
  const float* data;
  std::int64_t row_stride;
};

// The image with the zero border the tiles need (padding, and the last tiles' overhang): bordered (row, col)
// holds image (row - pad_top, col - pad_left). The forward reads its tiles from it, so no tile load tests its
// bounds; the input gradient adds its tiles into one and keeps the image's part.
class BorderedImage {
 public:
  explicit BorderedImage(const Problem& p)
      : p_(p),
        rows_(2 * p.tiles_h() + 2),
        cols_(2 * p.tiles_w() + 2),
        row0_(std::clamp<std::int64_t>(p.pad_top, 0, rows_)),
        row1_(std::clamp<std::int64_t>(p.in_h + p.pad_top, row0_, rows_)),
        col0_(std::clamp<std::int64_t>(p.pad_left, 0, cols_)),
        col1_(std::clamp<std::int64_t>(p.in_w + p.pad_left, col0_, cols_)),
        in_place_(p.pad_top <= 0 && p.pad_left <= 0 && rows_ - p.pad_top <= p.in_h && cols_ - p.pad_left <= p.in_w) {
  }

  std::int64_t size() const { return rows_ * cols_ * p_.channels; }
  std::int64_t row_stride() const { return cols_ * p_.channels; }
  // Floats of buffer that source() needs: none when every tile lies inside the image.
  std::int64_t source_size() const { return in_place_ ? 0 : size(); }

  // Zeroes what source() does not overwrite, once per buffer.
  void clear_border(float* buffer) const {
    if (in_place_) return;
    const std::int64_t c = p_.channels;
    std::fill(buffer, buffer + row0_ * cols_ * c, 0.0f);
    std::fill(buffer + row1_ * cols_ * c, buffer + rows_ * cols_ * c, 0.0f);
    for (std::int64_t row = row0_; row < row1_; ++row) {
      float* line = buffer + row * cols_ * c;
      std::fill(line, line + col0_ * c, 0.0f);
      std::fill(line + col1_ * c, line + cols_ * c, 0.0f);
    }
  }

  // The tiles of one image: the image itself, or its rows copied into buffer (border cleared beforehand).
  TileSource source(const float* image, float* buffer) const {
    const std::int64_t c = p_.channels;
    if (in_place_) return {image + (-p_.pad_top * p_.in_w - p_.pad_left) * c, p_.in_w * c};
    for (std::int64_t row = row0_; row < row1_; ++row) {
      const float* from = image + ((row - p_.pad_top) * p_.in_w + col0_ - p_.pad_left) * c;
      std::copy(from, from + (col1_ - col0_) * c, buffer + (row * cols_ + col0_) * c);
    }
    return {buffer, row_stride()};
  }

  // The image's part of a bordered buffer, into image. The tiles cover every row and column of the image
  // (they reach past its last output by two, and the padding is never negative), so all of it is written.
  void store_image(const float* buffer, float* image) const {
    const std::int64_t c = p_.channels;
    for (std::int64_t row = row0_; row < row1_; ++row) {
      const float* from = buffer + (row * cols_ + col0_) * c;
      std::copy(from, from + (col1_ - col0_) * c, image + ((row - p_.pad_top) * p_.in_w + col0_ - p_.pad_left) * c);
    }
  }

 private:
  Problem p_;
  std::int64_t rows_, cols_, row0_, row1_, col0_, col1_;
  bool in_place_;
};

// v[e][c] = (B^T d B)[e] for one vector of channels of the 4x4 input tile d at `corner` (rows row_stride
// apart, columns channels apart); B^T = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]].
// Row by row of B^T d, so no more than three rows of d are live at once.
inline void transform_input(const float* corner, std::int64_t row_stride, std::int64_t channels, float* v,
                            std::int64_t position_stride) {
  const auto load_row = [&](int i, V (&d)[4]) {
    for (int j = 0; j < 4; ++j) d[j] = load_as<V>(corner + i * row_stride + j * channels);
  };
  const auto store_row = [&](int i, const V (&s)[4]) {  // (B^T d)[i] B
    store_as(v + (i * 4 + 0) * position_stride, s[0] - s[2]);
    store_as(v + (i * 4 + 1) * position_stride, s[1] + s[2]);
    store_as(v + (i * 4 + 2) * position_stride, s[2] - s[1]);
    store_as(v + (i * 4 + 3) * position_stride, s[1] - s[3]);
  };
  V d0[4], d1[4], d2[4], s[4];
  load_row(0, d0);
  load_row(2, d2);
  for (int j = 0; j < 4; ++j) s[j] = d0[j] - d2[j];
  store_row(0, s);
  load_row(1, d1);
  for (int j = 0; j < 4; ++j) s[j] = d1[j] + d2[j];
  store_row(1, s);
  for (int j = 0; j < 4; ++j) s[j] = d2[j] - d1[j];
  store_row(2, s);
  load_row(3, d0);
  for (int j = 0; j < 4; ++j) s[j] = d1[j] - d0[j];
  store_row(3, s);
}

// The gradient of transform_input: adds B dv B^T, the 4x4 input tile's gradient for one vector of channels,
// from its 16 position gradients dv[e] (stride position_stride), to the tile at `corner` (rows row_stride
// apart, columns channels apart). Each column of B^T gives (B w) = (w0, w1 - w2 + w3, w1 + w2 - w0, -w3).
inline void add_input_gradient(const float* dv, std::int64_t position_stride, float* corner, std::int64_t row_stride,
                               std::int64_t channels) {
  V r[4][4];  // B dv
  for (int j = 0; j < 4; ++j) {
    const V w0 = load_as<V>(dv + j * position_stride), w1 = load_as<V>(dv + (4 + j) * position_stride);
    const V w2 = load_as<V>(dv + (8 + j) * position_stride), w3 = load_as<V>(dv + (12 + j) * position_stride);
    r[0][j] = w0;
    r[1][j] = w1 - w2 + w3;
    r[2][j] = w1 + w2 - w0;
    r[3][j] = -w3;
  }
  for (int i = 0; i < 4; ++i) {  // (B dv) B^T
    const V d[4] = {r[i][0], r[i][1] - r[i][2] + r[i][3], r[i][1] + r[i][2] - r[i][0], -r[i][3]};
    for (int j = 0; j < 4; ++j) {
      float* at = corner + i * row_stride + j * channels;
      store_as(at, load_as<V>(at) + d[j]);
    }
  }
}

// The top-left output of tile t: tiles run along rows, tiles_w to a row.
struct TileCorner {
  std::int64_t top, left;
};
inline TileCorner tile_corner(const Problem& p, std::int64_t t) {
  return {2 * (t / p.tiles_w()), 2 * (t % p.tiles_w())};
}

// The input transforms of tiles [t0, t0 + count) of one image into v ([16][count][channels], position stride
// v_stride).
void transform_inputs(const Problem& p, const TileSource& source, std::int64_t t0, std::int64_t count, float* v,
                      std::int64_t v_stride) {
  for (std::int64_t t = 0; t < count; ++t) {
    const TileCorner corner = tile_corner(p, t0 + t);
    const float* tile = source.data + corner.top * source.row_stride + corner.left * p.channels;
    for (std::int64_t c = 0; c < p.channels; c += kLanes)
      transform_input(tile + c, source.row_stride, p.channels, v + t * p.channels + c, v_stride);
  }
}

// c[r][o] = sum over k of a[r * a_row + k * a_k] * b[k * ldb + o], for r < rows (<= kBlockTiles) and
// kBlockOutputs outputs, in k order; with Accumulate, added to c's values instead. Rows past `rows` repeat
// the last one and are not stored.
template <bool Accumulate>
inline void multiply_block(const float* a, std::int64_t a_row, std::int64_t a_k, std::int64_t depth, const float* b,
                           std::int64_t ldb, float* c, std::int64_t ldc, std::int64_t rows) {
  const float* row[kBlockTiles];
  V acc[kBlockTiles][2];
#pragma GCC unroll 6
  for (int r = 0; r < kBlockTiles; ++r) {
    row[r] = a + std::min<std::int64_t>(r, rows - 1) * a_row;
    acc[r][0] = Accumulate && r < rows ? load_as<V>(c + r * ldc) : V{};
    acc[r][1] = Accumulate && r < rows ? load_as<V>(c + r * ldc + kLanes) : V{};
  }
#pragma GCC unroll 4
  for (std::int64_t k = 0; k < depth; ++k) {
    const V b0 = load_as<V>(b + k * ldb), b1 = load_as<V>(b + k * ldb + kLanes);
#pragma GCC unroll 6
    for (int r = 0; r < kBlockTiles; ++r) {
      const float ar = row[r][k * a_k];
      acc[r][0] += ar * b0;
      acc[r][1] += ar * b1;
    }
  }
#pragma GCC unroll 6
  for (int r = 0; r < kBlockTiles; ++r)
    if (r < rows) {
      store_as(c + r * ldc, acc[r][0]);
      store_as(c + r * ldc + kLanes, acc[r][1]);
    }
}

// The 16 GEMMs of a block of `count` tiles: out[e][t][:] = in[e][t][:] w[e], for in [16][..][depth] (position
// stride in_stride), w [16][depth][width] and out [16][..][width] (position stride out_stride).
void multiply_positions(const float* in, std::int64_t in_stride, std::int64_t depth, const float* w,
                        std::int64_t width, float* out, std::int64_t out_stride, std::int64_t count) {
  for (int e = 0; e < kPositions; ++e)
    for (std::int64_t r = 0; r < count; r += kBlockTiles)
      for (std::int64_t col = 0; col < width; col += kBlockOutputs)
        multiply_block<false>(in + e * in_stride + r * depth, depth, 1, depth, w + e * depth * width + col, width,
                              out + e * out_stride + r * width + col, width, std::min(kBlockTiles, count - r));
}

// The 2x2 outputs of one vector of output channels from its 16 products m[e] (stride position_stride):
// A^T m A with A^T = [[1, 1, 1, 0], [0, 1, -1, -1]], plus bias, then relu (NaN kept) when asked.
inline void transform_output(const Problem& p, const float* m, std::int64_t position_stride, const float* bias,
                             bool relu, float* image, std::int64_t top, std::int64_t left, std::int64_t o) {
  V a[2][4];  // A^T m
  for (int j = 0; j < 4; ++j) {
    const V m0 = load_as<V>(m + j * position_stride), m1 = load_as<V>(m + (4 + j) * position_stride);
    const V m2 = load_as<V>(m + (8 + j) * position_stride), m3 = load_as<V>(m + (12 + j) * position_stride);
    a[0][j] = m0 + m1 + m2;
    a[1][j] = m1 - m2 - m3;
  }
  const V b = bias ? load_as<V>(bias + o) : V{};
  V y[2][2];
  for (int i = 0; i < 2; ++i) {
    y[i][0] = a[i][0] + a[i][1] + a[i][2] + b;
    y[i][1] = a[i][1] - a[i][2] - a[i][3] + b;
    if (relu)
      for (V& value : y[i]) value = (value > 0.0f) | (value != value) ? value : V{};
  }
  float* corner = image + (top * p.out_w + left) * p.outputs + o;
  if (top + 2 <= p.out_h && left + 2 <= p.out_w) {  // all but the last tiles of an odd-sized output
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 2; ++j) store_as(corner + (i * p.out_w + j) * p.outputs, y[i][j]);
    return;
  }
  for (int i = 0; i < 2 && top + i < p.out_h; ++i)
    for (int j = 0; j < 2 && left + j < p.out_w; ++j) store_as(corner + (i * p.out_w + j) * p.outputs, y[i][j]);
}

// q[e] = (A dy A^T)[e] for one vector of output channels of the 2x2 tile of grad_y whose corner is
// (top, left), the gradient of the 16 products m[e] of that tile; A = [[1, 0], [1, 1], [1, -1], [0, -1]].
// Positions outside the output are 0.
inline void transform_output_gradient(const Problem& p, const float* image, std::int64_t top, std::int64_t left,
                                      std::int64_t o, float* q, std::int64_t position_stride) {
  const float* corner = image + (top * p.out_w + left) * p.outputs + o;
  const bool whole = top + 2 <= p.out_h && left + 2 <= p.out_w;  // all but the last tiles of an odd-sized output
  V d[2][2];
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 2; ++j)
      d[i][j] = whole || (top + i < p.out_h && left + j < p.out_w)
                    ? load_as<V>(corner + (i * p.out_w + j) * p.outputs)
                    : V{};
  V s[4][2];  // A dy
  for (int j = 0; j < 2; ++j) {
    s[0][j] = d[0][j];
    s[1][j] = d[0][j] + d[1][j];
    s[2][j] = d[0][j] - d[1][j];
    s[3][j] = -d[1][j];
  }
  for (int i = 0; i < 4; ++i) {  // (A dy) A^T
    store_as(q + (i * 4 + 0) * position_stride, s[i][0]);
    store_as(q + (i * 4 + 1) * position_stride, s[i][0] + s[i][1]);
    store_as(q + (i * 4 + 2) * position_stride, s[i][0] - s[i][1]);
    store_as(q + (i * 4 + 3) * position_stride, -s[i][1]);
  }
}

// Tiles per block: a multiple of the register block, as many as keep a block's transformed inputs and
// products in kTileBlockBytes, and no more than the image has.
std::int64_t tiles_per_block(const Problem& p) {
  const std::int64_t tiles = p.tiles_h() * p.tiles_w();
  const std::int64_t tile_bytes = kPositions * (p.channels + p.outputs) * static_cast<std::int64_t>(sizeof(float));
  return std::min(std::max<std::int64_t>(kTileBlockBytes / tile_bytes / kBlockTiles, 1),
                  (tiles + kBlockTiles - 1) / kBlockTiles) *
         kBlockTiles;
}

// Per-thread work space for one block of tiles: position-major [16][per_block][channels] (`per_channel`) and
// [16][per_block][outputs] (`per_output`), then `extra` floats for a bordered image.
class BlockScratch {
 public:
  BlockScratch(const Problem& p, std::int64_t per_block, std::int64_t extra)
      : channel_stride(per_block * p.channels),
        output_stride(per_block * p.outputs),
        buffer_(static_cast<std::size_t>(kPositions * (channel_stride + output_stride) + extra)) {}

  const std::int64_t channel_stride, output_stride;  // between positions
  float* per_channel() { return buffer_.data(); }
  float* per_output() { return buffer_.data() + kPositions * channel_stride; }
  float* extra() { return per_output() + kPositions * output_stride; }

 private:
  ScratchBuffer<float> buffer_;
};

void convolve(const Problem& p, const float* in, const std::vector<float>& u, const float* bias, float* out,
              bool relu) {
  const std::int64_t tiles = p.tiles_h() * p.tiles_w(), per_block = tiles_per_block(p);
  const BorderedImage bordered(p);
  parallel::for_each_chunk(0, p.batch, 1, [&](std::int64_t, std::int64_t n0, std::int64_t n1) {
    BlockScratch scratch(p, per_block, bordered.source_size());  // transformed inputs v and products m
    float *v = scratch.per_channel(), *m = scratch.per_output(), *border = scratch.extra();
    const std::int64_t v_stride = scratch.channel_stride, m_stride = scratch.output_stride;
    bordered.clear_border(border);
    for (std::int64_t n = n0; n < n1; ++n) {
      const TileSource source = bordered.source(in + n * p.in_h * p.in_w * p.channels, border);
      float* result = out + n * p.out_h * p.out_w * p.outputs;
      for (std::int64_t t0 = 0; t0 < tiles; t0 += per_block) {
        const std::int64_t count = std::min(per_block, tiles - t0);
        transform_inputs(p, source, t0, count, v, v_stride);
        multiply_positions(v, v_stride, p.channels, u.data(), p.outputs, m, m_stride, count);
        for (std::int64_t t = 0; t < count; ++t) {
          const TileCorner corner = tile_corner(p, t0 + t);
          for (std::int64_t o = 0; o < p.outputs; o += kLanes)
            transform_output(p, m + t * p.outputs + o, m_stride, bias, relu, result, corner.top, corner.left, o);
        }
      }
    }
  });
}

// du[e][c][o] (+)= sum over a block's tiles of v[e][t][c] * dm[e][t][o]: set with Accumulate false.
template <bool Accumulate>
void add_kernel_products(const Problem& p, const float* v, std::int64_t v_stride, const float* q,
                         std::int64_t q_stride, std::int64_t count, float* du) {
  for (int e = 0; e < kPositions; ++e)
    for (std::int64_t c = 0; c < p.channels; c += kBlockTiles)
      for (std::int64_t o = 0; o < p.outputs; o += kBlockOutputs)
        multiply_block<Accumulate>(v + e * v_stride + c, 1, p.channels, count, q + e * q_stride + o, p.outputs,
                                   du + (e * p.channels + c) * p.outputs + o, p.outputs,
                                   std::min(kBlockTiles, p.channels - c));
}

// grad_kernel[i][j][c][o] = (G^T du G)[i][j] of du[e][c][o], the gradient of the transformed kernel U.
void untransform_kernel_gradient(const std::vector<float>& du, std::int64_t channels, std::int64_t outputs,
                                 float* grad_kernel) {
  const std::int64_t plane = channels * outputs;
  for (std::int64_t co = 0; co < plane; co += kLanes) {
    V d[4][4];
    for (int e = 0; e < kPositions; ++e) d[e / 4][e % 4] = load_as<V>(du.data() + e * plane + co);
    V t[3][4];  // G^T du
    for (int b = 0; b < 4; ++b) {
      t[0][b] = d[0][b] + 0.5f * (d[1][b] + d[2][b]);
      t[1][b] = 0.5f * (d[1][b] - d[2][b]);
      t[2][b] = 0.5f * (d[1][b] + d[2][b]) + d[3][b];
    }
    for (int i = 0; i < 3; ++i) {  // (G^T du) G
      store_as(grad_kernel + (i * 3 + 0) * plane + co, t[i][0] + 0.5f * (t[i][1] + t[i][2]));
      store_as(grad_kernel + (i * 3 + 1) * plane + co, 0.5f * (t[i][1] - t[i][2]));
      store_as(grad_kernel + (i * 3 + 2) * plane + co, 0.5f * (t[i][1] + t[i][2]) + t[i][3]);
    }
  }
}

}  // namespace

bool conv2d_winograd_applicable(const Conv2dGeometry& g) {
  if (g.layout != Layout::NHWC || g.kernel_h != 3 || g.kernel_w != 3 || g.stride_h != 1 || g.stride_w != 1 ||
      g.dilation_h != 1 || g.dilation_w != 1 || g.in_c % kBlockOutputs != 0 || g.out_c % kBlockOutputs != 0)
    return false;
  // 16 products per 2x2 tile against 9 per output: worth it only when the tiles are mostly full.
  const std::int64_t winograd = 16 * ((g.out_h + 1) / 2) * ((g.out_w + 1) / 2), direct = 9 * g.out_h * g.out_w;
  return 4 * winograd <= 3 * direct;
}

void conv2d_forward_winograd(const Conv2dGeometry& g, const float* x, const float* kernel, const float* bias, float* y,
                             bool relu) {
  const Problem p{g.batch, g.in_h, g.in_w, g.in_c, g.out_c, g.pad_top, g.pad_left, g.out_h, g.out_w};
  const std::vector<float> u = transform_kernel<false>(kernel, g.in_c, g.out_c);
  convolve(p, x, u, bias, y, relu);
}

void conv2d_backward_winograd(const Conv2dGeometry& g, const float* x, const float* grad_y, const float* kernel,
                              float* grad_x, float* grad_kernel, float* grad_bias) {
  const Problem p{g.batch, g.in_h, g.in_w, g.in_c, g.out_c, g.pad_top, g.pad_left, g.out_h, g.out_w};
  const bool input = grad_x != nullptr, weights = grad_kernel != nullptr;
  // ut[e][o][c] = U[e][c][o]
  const std::vector<float> ut = input ? transform_kernel<true>(kernel, g.in_c, g.out_c) : std::vector<float>();
  const std::int64_t tiles = p.tiles_h() * p.tiles_w(), per_block = tiles_per_block(p);
  // The kernel gradient keeps one partial du (and bias gradient) per chunk of whole images, summed in chunk
  // order afterwards; each chunk's first block of tiles writes its du, the others add to it.
  const std::int64_t du_size = weights ? kPositions * p.channels * p.outputs : 0;
  const std::int64_t images_per_chunk = weights ? (p.batch + kMinChunks - 1) / kMinChunks : 1;
  const std::int64_t chunks = parallel::num_chunks(0, p.batch, images_per_chunk);
  const auto du_parts = std::make_unique_for_overwrite<float[]>(static_cast<std::size_t>(chunks * du_size));
  std::vector<float> bias_parts(weights ? static_cast<std::size_t>(chunks * p.outputs) : 0, 0.0f);
  const BorderedImage bordered(p);
  // Beside a block's transformed inputs v (later their gradients dv) and product gradients dm: x's bordered
  // copy for the kernel gradient, the bordered sum of grad_x for the input gradient.
  const std::int64_t source_size = weights ? bordered.source_size() : 0, gradient_size = input ? bordered.size() : 0;
  parallel::for_each_chunk(0, p.batch, images_per_chunk, [&](std::int64_t chunk, std::int64_t n0, std::int64_t n1) {
    BlockScratch scratch(p, per_block, source_size + gradient_size);
    float *v = scratch.per_channel(), *q = scratch.per_output(), *border = scratch.extra();
    float* gradient = border + source_size;
    const std::int64_t v_stride = scratch.channel_stride, q_stride = scratch.output_stride;
    if (weights) bordered.clear_border(border);
    float* du = weights ? du_parts.get() + chunk * du_size : nullptr;
    float* gb = weights ? bias_parts.data() + chunk * p.outputs : nullptr;
    for (std::int64_t n = n0; n < n1; ++n) {
      const float* gy = grad_y + n * p.out_h * p.out_w * p.outputs;
      TileSource source{};
      if (weights) {
        source = bordered.source(x + n * p.in_h * p.in_w * p.channels, border);
        for (std::int64_t pixel = 0; pixel < p.out_h * p.out_w; ++pixel)
          for (std::int64_t o = 0; o < p.outputs; o += kLanes)
            store_as(gb + o, load_as<V>(gb + o) + load_as<V>(gy + pixel * p.outputs + o));
      }
      if (input) std::fill(gradient, gradient + gradient_size, 0.0f);
      for (std::int64_t t0 = 0; t0 < tiles; t0 += per_block) {
        const std::int64_t count = std::min(per_block, tiles - t0);
        for (std::int64_t t = 0; t < count; ++t) {
          const TileCorner corner = tile_corner(p, t0 + t);
          for (std::int64_t o = 0; o < p.outputs; o += kLanes)
            transform_output_gradient(p, gy, corner.top, corner.left, o, q + t * p.outputs + o, q_stride);
        }
        if (weights) {
          transform_inputs(p, source, t0, count, v, v_stride);
          if (n == n0 && t0 == 0)
            add_kernel_products<false>(p, v, v_stride, q, q_stride, count, du);
          else
            add_kernel_products<true>(p, v, v_stride, q, q_stride, count, du);
        }
        if (input) {
          float* dv = v;  // v is done with
          multiply_positions(q, q_stride, p.outputs, ut.data(), p.channels, dv, v_stride, count);
          for (std::int64_t t = 0; t < count; ++t) {
            const TileCorner corner = tile_corner(p, t0 + t);
            float* tile = gradient + corner.top * bordered.row_stride() + corner.left * p.channels;
            for (std::int64_t c = 0; c < p.channels; c += kLanes)
              add_input_gradient(dv + t * p.channels + c, v_stride, tile + c, bordered.row_stride(), p.channels);
          }
        }
      }
      if (input) bordered.store_image(gradient, grad_x + n * p.in_h * p.in_w * p.channels);
    }
  });
  if (!weights) return;
  std::vector<float> du(static_cast<std::size_t>(du_size));
  sum_partials(du_parts.get(), chunks, du_size, du.data());
  untransform_kernel_gradient(du, p.channels, p.outputs, grad_kernel);
  if (grad_bias != nullptr) sum_partials(bias_parts, chunks, p.outputs, grad_bias);
}

}  // namespace keel::kernels
