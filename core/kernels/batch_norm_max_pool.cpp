#include "keel/core/kernels/batch_norm_max_pool.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "keel/core/error.h"
#include "keel/core/kernels/detail/batch_norm_columns.h"
#include "keel/core/kernels/detail/batch_norm_partition.h"
#include "keel/core/kernels/detail/dispatch_flags.h"
#include "keel/core/kernels/detail/pool_2x2_windows.h"
#include "keel/core/kernels/max_rule.h"
#include "keel/core/kernels/simd.h"
#include "keel/core/parallel.h"

namespace keel::kernels {
namespace {

// About this many output values per parallel chunk of output rows.
constexpr std::int64_t kChunkElements = std::int64_t{1} << 14;

// Output rows [r0, r1) (over images × out_h). Vectors: every channel a lane of a native vector, as
// batch_norm_inference's register walk normalizes them; else one channel at a time with std::fma, as its
// run walk does. Stream: whole vectors written with streaming stores.
template <class T, bool Vectors, bool Stream>
void pool_rows(const Pool2dGeometry& g, const T* x, const bn_detail::AffineParams<T>& a, T* y, std::int64_t r0,
               std::int64_t r1) {
  using F = typename NativeSimd<T>::V;
  constexpr std::int64_t L = NativeSimd<T>::lanes;
  const std::int64_t C = g.channels;
  detail::for_each_2x2_window(g, C, g.in_h * g.in_w * C, x, r0, r1, [&](std::int64_t out, const detail::Window2x2<T>& w) {
    const T* window[4] = {w.top_left, w.top_right, w.bottom_left, w.bottom_right};
    T* m = y + out * C;
    if constexpr (Vectors) {
      for (std::int64_t c = 0; c < C; c += L) {
        const F hi = load_as<F>(a.hi.data() + c), scale = load_as<F>(a.scale.data() + c),
                shift = load_as<F>(a.shift.data() + c);
        auto normalized = [&](const T* q) { return (load_as<F>(q + c) - hi) * scale + shift; };
        F best = normalized(window[0]);
        for (int k = 1; k < 4; ++k) best = running_max<T>(best, normalized(window[k]));
        store_output<Stream>(m + c, best);
      }
    } else {
      for (std::int64_t c = 0; c < C; ++c) {
        auto normalized = [&](const T* q) { return std::fma(q[c] - a.hi[c], a.scale[c], a.shift[c]); };
        T best = normalized(window[0]);
        for (int k = 1; k < 4; ++k) {
          const T v = normalized(window[k]);
          best = replaces_max(v, best) ? v : best;
        }
        m[c] = best;
      }
    }
  });
}

}  // namespace

template <class T>
void batch_norm_inference_max_pool_2x2(const Pool2dGeometry& g, const T* x, const T* gamma, const T* beta,
                                       const T* moving_mean, const T* moving_var, double eps, T* y) {
  constexpr const char* op = "batch_norm_inference_max_pool_2x2";
  if (g.layout != Layout::NHWC || !max_pool2d_is_2x2(g))
    throw UsageError(fmt::format("{}: needs channels-last input and 2x2 windows with stride 2 inside it", op));
  bn_detail::check_eps(op, eps);
  const std::int64_t C = g.channels;
  // The vector choice of batch_norm_inference on the same input, so that each value takes the same operations.
  const bool vectors = bn_detail::registers_hold_tile<T>(
      bn_detail::make_partition(op, ChannelLayout{g.batch * g.in_h * g.in_w, C, 1}, sizeof(T)));
  std::vector<double> scale, shift;
  bn_detail::inference_scale_shift(C, gamma, beta, moving_var, eps, scale, shift);
  const bn_detail::AffineParams<T> a = bn_detail::affine_channels<T>(moving_mean, scale, shift);
  // Streamed as 2x2 max pooling streams (pooling.cpp): the pass moves 16 MiB or more.
  const std::int64_t values = g.batch * C * (g.in_h * g.in_w + g.out_h * g.out_w);
  const bool stream = vectors && streams_pass(values, y);
  const std::int64_t grain = std::max<std::int64_t>(1, kChunkElements / (g.out_w * C));
  auto rows = [&](auto with_vectors, auto streamed) {
    constexpr bool V = decltype(with_vectors)::value, S = decltype(streamed)::value;
    parallel::for_each_chunk(0, g.batch * g.out_h, grain, [&](std::int64_t, std::int64_t r0, std::int64_t r1) {
      pool_rows<T, V, S && V>(g, x, a, y, r0, r1);
      if constexpr (S && V) stream_fence();
    });
  };
  detail::dispatch_flags(rows, vectors, stream);
}

template void batch_norm_inference_max_pool_2x2<float>(const Pool2dGeometry&, const float*, const float*,
                                                       const float*, const float*, const float*, double, float*);
template void batch_norm_inference_max_pool_2x2<double>(const Pool2dGeometry&, const double*, const double*,
                                                        const double*, const double*, const double*, double,
                                                        double*);

}  // namespace keel::kernels
