#include "keel/core/kernels/layer_norm.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#include "keel/core/error.h"
#include "keel/core/kernels/chunk_partials.h"
#include "keel/core/kernels/detail/dispatch_flags.h"
#include "keel/core/kernels/lane_sum.h"
#include "keel/core/kernels/shifted_moments.h"
#include "keel/core/kernels/simd.h"
#include "keel/core/parallel.h"

namespace keel::kernels {
namespace {

// About this many elements per parallel chunk of rows.
constexpr std::int64_t kChunkElements = 16384;
// At most this many chunks in backward, which keeps one double partial of dgamma and dbeta per chunk.
constexpr std::int64_t kMaxBackwardChunks = 16;

std::int64_t rows_per_chunk(std::int64_t rows, std::int64_t cols, std::int64_t max_chunks) {
  const std::int64_t by_size = std::max<std::int64_t>(1, kChunkElements / std::max<std::int64_t>(1, cols));
  return max_chunks ? std::max(by_size, (rows + max_chunks - 1) / max_chunks) : by_size;
}

void check_arguments(const char* op, std::int64_t rows, std::int64_t cols, double eps) {
  if (rows < 0 || cols < 0) throw ShapeError(fmt::format("{}: negative size rows={} cols={}", op, rows, cols));
  if (!(eps >= 0)) throw ValueError(fmt::format("{}: epsilon must be >= 0, got {}", op, eps));
}

// lane_sum_pair's accumulator count for a row: two 64-byte vectors per sum leave AVX2 registers for the
// terms' own values.
constexpr int kRowVectors = 2;
// Backward sums the dgamma/dbeta terms of this many consecutive rows in T, per column, before adding them to
// the chunk's double partials: the conversion to double is paid once per block, not per row.
constexpr std::int64_t kParamRows = 16;
// Forward takes rows through each step together, so that one row's scalar steps (folding lanes, a square
// root, a division) overlap the other rows' work instead of stalling the vector loops: 27% off the forward
// pass on rows of 256 floats (the backward pass, bound by its loads and stores, gained nothing). At most
// kBatchRows, and only as many as keep a batch of one tensor within 16 KiB (L1), since each pass reads the
// batch again.
constexpr std::int64_t kBatchRows = 4;

std::int64_t batch_rows(std::int64_t cols, std::size_t element_size) {
  const std::int64_t row_bytes = std::max<std::int64_t>(1, cols * static_cast<std::int64_t>(element_size));
  return std::clamp<std::int64_t>(16384 / row_bytes, 1, kBatchRows);
}

// Whether a pass over rows·cols values that moves `tensors` such arrays (read or written) writes its output
// with streaming stores (simd.h): it must move at least kStreamBytes, and every row of the output must
// start on a vector boundary.
template <class T>
bool streams_rows(const T* out, std::int64_t rows, std::int64_t cols, int tensors) {
  return streams_pass(rows * cols * tensors, out) && stream_aligned(out + cols);
}

// Mean and M2 of one row: shifted sums over blocks of kLayerNormBlock values, the shift being the mean of
// the row's first values and then the running mean, merged in double.
template <class T>
Moments row_moments(const T* x, std::int64_t n) {
  Moments total;
  for (std::int64_t b0 = 0; b0 < n; b0 += kLayerNormBlock) {
    const std::int64_t nb = std::min(kLayerNormBlock, n - b0);
    const T s = static_cast<T>(total.count > 0 ? total.mean : initial_shift(x, n));
    T s1 = 0, s2 = 0;
    add_shifted_sums<T, kRowVectors>(x + b0, nb, s, s1, s2);
    total = combine_moments(total, shifted_moments(static_cast<double>(nb), s, s1, s2));
  }
  return total;
}

// x̂ = ((x − hi) − lo)·invstd: the mean split into T parts so the subtraction keeps x's low bits.
template <class T>
struct RowScale {
  T hi, lo, s;
  RowScale(double mean, double invstd)
      : hi(static_cast<T>(mean)), lo(static_cast<T>(mean - static_cast<double>(hi))), s(static_cast<T>(invstd)) {}
  template <class U>
  U operator()(U x) const {
    return ((x - hi) - lo) * s;
  }
};

// y = x̂·gamma + beta; gamma and beta may be nullptr.
template <class T, bool Stream>
void normalize_row(const T* __restrict x, std::int64_t n, const RowScale<T>& xhat, const T* __restrict gamma,
                   const T* __restrict beta, T* __restrict y) {
  auto each = [&](auto with_gamma, auto with_beta) {
    for_each_native_vector<T>(n, [&](std::int64_t i, auto u) {
      using U = decltype(u);
      U v = xhat(load_as<U>(x + i));
      if constexpr (with_gamma) v = v * load_as<U>(gamma + i);
      if constexpr (with_beta) v = v + load_as<U>(beta + i);
      store_output<Stream>(y + i, v);
    });
  };
  detail::dispatch_flags(each, gamma != nullptr, beta != nullptr);
}

// The backward pass over one row, in two sweeps. row_sums: Σg and Σg·x̂ with g = dy·gamma, and the row's
// dgamma and dbeta terms dy·x̂ and dy added to the T block sums ag and ab (when wanted). row_dx:
// dx = invstd·(g − mean(g) − x̂·mean(g·x̂)).
template <class T, bool WithGamma, bool WithParams, bool WithDx>
void row_sums(std::int64_t n, const T* __restrict dy, const T* __restrict x, const T* __restrict gamma,
              const RowScale<T>& xhat, T* __restrict ag, T* __restrict ab, T& sum_g, T& sum_gx) {
  lane_sum_pair<T, kRowVectors>(
      n,
      [&](std::int64_t i, auto& a, auto& b) {
        using U = std::remove_reference_t<decltype(a)>;
        const U d = load_as<U>(dy + i), xh = xhat(load_as<U>(x + i));
        if constexpr (WithDx) {
          const U g = WithGamma ? d * load_as<U>(gamma + i) : d;
          a += g;
          b += g * xh;
        }
        if constexpr (WithParams) {
          store_as<U>(ag + i, load_as<U>(ag + i) + d * xh);
          store_as<U>(ab + i, load_as<U>(ab + i) + d);
        }
      },
      sum_g, sum_gx);
}

template <class T, bool WithGamma, bool Stream>
void row_dx(std::int64_t n, const T* __restrict dy, const T* __restrict x, const T* __restrict gamma,
            const RowScale<T>& xhat, T sum_g, T sum_gx, T* __restrict dx) {
  const T count = static_cast<T>(n), mean_g = sum_g / count, mean_gx = sum_gx / count;
  for_each_native_vector<T>(n, [&](std::int64_t i, auto u) {
    using U = decltype(u);
    const U d = load_as<U>(dy + i), g = WithGamma ? d * load_as<U>(gamma + i) : d;
    store_output<Stream>(dx + i, xhat.s * (g - mean_g - xhat(load_as<U>(x + i)) * mean_gx));
  });
}

}  // namespace

template <class T>
void layer_norm_forward(std::int64_t rows, std::int64_t cols, const T* x, const T* gamma, const T* beta, double eps,
                        T* y, double* mean, double* invstd) {
  check_arguments("layer_norm_forward", rows, cols, eps);
  if (rows == 0) return;
  const std::int64_t batch = batch_rows(cols, sizeof(T));
  const bool stream = streams_rows(y, rows, cols, 2);
  parallel::for_each_chunk(0, rows, rows_per_chunk(rows, cols, 0), [&](std::int64_t, std::int64_t r0, std::int64_t r1) {
    for (std::int64_t b0 = r0; b0 < r1; b0 += batch) {
      const std::int64_t b1 = std::min(r1, b0 + batch);
      double m2[kBatchRows];
      for (std::int64_t r = b0; r < b1; ++r) {
        const Moments m = row_moments(x + r * cols, cols);
        mean[r] = m.mean;
        m2[r - b0] = m.m2;
      }
      for (std::int64_t r = b0; r < b1; ++r) {
        const double sd = std::sqrt((cols ? m2[r - b0] / static_cast<double>(cols) : 0.0) + eps);
        invstd[r] = sd == 0 ? 0.0 : 1.0 / sd;
      }
      for (std::int64_t r = b0; r < b1; ++r) {
        const RowScale<T> xhat(mean[r], invstd[r]);
        if (stream) normalize_row<T, true>(x + r * cols, cols, xhat, gamma, beta, y + r * cols);
        else normalize_row<T, false>(x + r * cols, cols, xhat, gamma, beta, y + r * cols);
      }
    }
    if (stream) stream_fence();
  });
}

template <class T>
void layer_norm_backward(std::int64_t rows, std::int64_t cols, const T* dy, const T* x, const T* gamma,
                         const double* mean, const double* invstd, T* dx, T* dgamma, T* dbeta) {
  check_arguments("layer_norm_backward", rows, cols, 0.0);
  const bool params = dgamma || dbeta;
  if (rows == 0) {  // empty sums
    if (dgamma) std::fill_n(dgamma, cols, T(0));
    if (dbeta) std::fill_n(dbeta, cols, T(0));
    return;
  }
  if (!params && !dx) return;
  const std::int64_t grain = rows_per_chunk(rows, cols, kMaxBackwardChunks);
  const std::int64_t chunks = parallel::num_chunks(0, rows, grain);
  // Per chunk: [dgamma | dbeta] partial sums in double.
  std::vector<double> partials(params ? static_cast<std::size_t>(chunks * 2 * cols) : 0, 0.0);
  const bool stream = dx && streams_rows(dx, rows, cols, 3);
  parallel::for_each_chunk(0, rows, grain, [&](std::int64_t chunk, std::int64_t r0, std::int64_t r1) {
    // [dgamma | dbeta] terms of the current kParamRows block, in T.
    std::vector<T> block(params ? static_cast<std::size_t>(2 * cols) : 0, T(0));
    double* partial = params ? partials.data() + chunk * 2 * cols : nullptr;
    auto rows_with = [&](auto with_gamma, auto with_params, auto with_dx, auto streamed) {
      constexpr bool G = decltype(with_gamma)::value, P = decltype(with_params)::value, D = decltype(with_dx)::value;
      constexpr bool S = decltype(streamed)::value;
      for (std::int64_t r = r0; r < r1; ++r) {
        const std::int64_t offset = r * cols;
        const RowScale<T> xhat(mean[r], invstd[r]);
        T sum_g = 0, sum_gx = 0;
        row_sums<T, G, P, D>(cols, dy + offset, x + offset, gamma, xhat, block.data(), block.data() + cols, sum_g,
                             sum_gx);
        if constexpr (D) row_dx<T, G, S>(cols, dy + offset, x + offset, gamma, xhat, sum_g, sum_gx, dx + offset);
        if (P && ((r - r0 + 1) % kParamRows == 0 || r + 1 == r1))
          for (std::size_t i = 0; i < block.size(); ++i) {
            partial[i] += static_cast<double>(block[i]);
            block[i] = T(0);
          }
      }
    };
    detail::dispatch_flags(rows_with, gamma != nullptr, params, dx != nullptr, stream);
    if (stream) stream_fence();
  });
  if (!params) return;
  std::vector<double> sums(static_cast<std::size_t>(2 * cols), 0.0);
  sum_partials(partials, chunks, 2 * cols, sums.data());
  for (std::int64_t i = 0; i < cols; ++i) {
    if (dgamma) dgamma[i] = static_cast<T>(sums[i]);
    if (dbeta) dbeta[i] = static_cast<T>(sums[cols + i]);
  }
}

template void layer_norm_forward<float>(std::int64_t, std::int64_t, const float*, const float*, const float*, double,
                                        float*, double*, double*);
template void layer_norm_forward<double>(std::int64_t, std::int64_t, const double*, const double*, const double*,
                                         double, double*, double*, double*);
template void layer_norm_backward<float>(std::int64_t, std::int64_t, const float*, const float*, const float*,
                                         const double*, const double*, float*, float*, float*);
template void layer_norm_backward<double>(std::int64_t, std::int64_t, const double*, const double*, const double*,
                                          const double*, const double*, double*, double*, double*);

}  // namespace keel::kernels
