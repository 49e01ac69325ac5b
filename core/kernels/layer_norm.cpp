#include "keel/core/kernels/layer_norm.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#include "keel/core/error.h"
#include "keel/core/kernels/chunk_partials.h"
#include "keel/core/kernels/lane_sum.h"
#include "keel/core/kernels/shifted_moments.h"
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

// Mean and M2 of one row: shifted sums over blocks of kLayerNormBlock values, the shift being the mean of
// the row's first values and then the running mean, merged in double.
template <class T>
Moments row_moments(const T* x, std::int64_t n) {
  Moments total;
  for (std::int64_t b0 = 0; b0 < n; b0 += kLayerNormBlock) {
    const std::int64_t nb = std::min(kLayerNormBlock, n - b0);
    const T s = static_cast<T>(total.count > 0 ? total.mean : initial_shift(x, n));
    T s1 = 0, s2 = 0;
    add_shifted_sums(x + b0, nb, s, s1, s2);
    total = combine_moments(total, shifted_moments(static_cast<double>(nb), s, s1, s2));
  }
  return total;
}

// y = ((x − hi) − lo)·invstd·gamma + beta, the mean split into T parts so the subtraction keeps x's
// low bits; gamma and beta may be nullptr.
template <class T>
void normalize_row(const T* __restrict x, std::int64_t n, double mean, double invstd, const T* __restrict gamma,
                   const T* __restrict beta, T* __restrict y) {
  const T hi = static_cast<T>(mean), lo = static_cast<T>(mean - static_cast<double>(hi)), s = static_cast<T>(invstd);
  if (gamma && beta)
    for (std::int64_t i = 0; i < n; ++i) y[i] = std::fma(((x[i] - hi) - lo) * s, gamma[i], beta[i]);
  else if (gamma)
    for (std::int64_t i = 0; i < n; ++i) y[i] = ((x[i] - hi) - lo) * s * gamma[i];
  else if (beta)
    for (std::int64_t i = 0; i < n; ++i) y[i] = ((x[i] - hi) - lo) * s + beta[i];
  else
    for (std::int64_t i = 0; i < n; ++i) y[i] = ((x[i] - hi) - lo) * s;
}

}  // namespace

template <class T>
void layer_norm_forward(std::int64_t rows, std::int64_t cols, const T* x, const T* gamma, const T* beta, double eps,
                        T* y, double* mean, double* invstd) {
  check_arguments("layer_norm_forward", rows, cols, eps);
  if (rows == 0) return;
  parallel::for_each_chunk(0, rows, rows_per_chunk(rows, cols, 0), [&](std::int64_t, std::int64_t r0, std::int64_t r1) {
    for (std::int64_t r = r0; r < r1; ++r) {
      const T* xr = x + r * cols;
      const Moments m = row_moments(xr, cols);
      const double sd = std::sqrt((cols ? m.m2 / static_cast<double>(cols) : 0.0) + eps);
      mean[r] = m.mean;
      invstd[r] = sd == 0 ? 0.0 : 1.0 / sd;
      normalize_row(xr, cols, mean[r], invstd[r], gamma, beta, y + r * cols);
    }
  });
}

template <class T>
void layer_norm_backward(std::int64_t rows, std::int64_t cols, const T* dy, const T* x, const T* gamma,
                         const double* mean, const double* invstd, T* dx, T* dgamma, T* dbeta) {
  check_arguments("layer_norm_backward", rows, cols, 0.0);
  const bool params = dgamma || dbeta;
  const std::int64_t grain = rows_per_chunk(rows, cols, kMaxBackwardChunks);
  const std::int64_t chunks = rows ? parallel::num_chunks(0, rows, grain) : 0;
  // Per chunk: [dgamma | dbeta] partial sums in double.
  std::vector<double> partials(params ? static_cast<std::size_t>(chunks * 2 * cols) : 0, 0.0);
  if (rows > 0)
    parallel::for_each_chunk(0, rows, grain, [&](std::int64_t chunk, std::int64_t r0, std::int64_t r1) {
      std::vector<T> xhat(static_cast<std::size_t>(cols)), g(static_cast<std::size_t>(cols));
      double* pg = params ? partials.data() + chunk * 2 * cols : nullptr;
      for (std::int64_t r = r0; r < r1; ++r) {
        const T* dyr = dy + r * cols;
        normalize_row<T>(x + r * cols, cols, mean[r], invstd[r], nullptr, nullptr, xhat.data());
        if (params)
          for (std::int64_t i = 0; i < cols; ++i) {
            pg[i] += static_cast<double>(dyr[i]) * static_cast<double>(xhat[i]);
            pg[cols + i] += static_cast<double>(dyr[i]);
          }
        if (!dx) continue;
        for (std::int64_t i = 0; i < cols; ++i) g[i] = gamma ? dyr[i] * gamma[i] : dyr[i];
        T sum_g = 0, sum_gx = 0;
        const T* gp = g.data();
        const T* xp = xhat.data();
        lane_sum_pair<T>(
            cols,
            [&](std::int64_t i, auto& a, auto& b) {
              using U = std::remove_reference_t<decltype(a)>;
              const U gv = load_as<U>(gp + i);
              a += gv;
              b += gv * load_as<U>(xp + i);
            },
            sum_g, sum_gx);
        const T n = static_cast<T>(cols), s = static_cast<T>(invstd[r]);
        const T mean_g = sum_g / n, mean_gx = sum_gx / n;
        T* dxr = dx + r * cols;
        for (std::int64_t i = 0; i < cols; ++i) dxr[i] = s * (gp[i] - mean_g - xp[i] * mean_gx);
      }
    });
  if (!params) return;
  std::vector<double> sums(static_cast<std::size_t>(2 * cols), 0.0);
  if (chunks > 0) sum_partials(partials, chunks, 2 * cols, sums.data());
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
