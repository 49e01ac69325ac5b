#include "keel/core/kernels/group_norm.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "keel/core/error.h"
#include "keel/core/kernels/chunk_partials.h"
#include "keel/core/kernels/shifted_moments.h"
#include "keel/core/kernels/simd.h"
#include "keel/core/parallel.h"

namespace keel::kernels {
namespace {

constexpr std::int64_t kChunkElements = 16384;
constexpr std::int64_t kMaxBackwardChunks = 16;
// Values per block of shifted sums before they are merged into the running double moments.
constexpr std::int64_t kBlock = 512;

void check_layout(const char* op, const GroupNormLayout& l, double eps) {
  if (l.samples < 0 || l.before < 0 || l.channels < 0 || l.after < 0 || l.groups <= 0 || l.channels % l.groups != 0)
    throw ShapeError(fmt::format("{}: bad layout samples={} before={} channels={} after={} groups={}", op, l.samples,
                                 l.before, l.channels, l.after, l.groups));
  if (!(eps >= 0)) throw ValueError(fmt::format("{}: epsilon must be >= 0, got {}", op, eps));
}

std::int64_t sample_size(const GroupNormLayout& l) { return l.before * l.channels * l.after; }

std::int64_t samples_per_chunk(const GroupNormLayout& l, std::int64_t max_chunks) {
  const std::int64_t by_size = std::max<std::int64_t>(1, kChunkElements / std::max<std::int64_t>(1, sample_size(l)));
  return max_chunks ? std::max(by_size, (l.samples + max_chunks - 1) / max_chunks) : by_size;
}

// Group g of sample n: `before` runs of `run` contiguous values, `stride` apart.
struct Group {
  std::int64_t first, run, stride, runs, channel0, per_channel;
};

Group group_of(const GroupNormLayout& l, std::int64_t n, std::int64_t g) {
  const std::int64_t per_group = l.channels / l.groups;
  return {(n * l.before * l.channels + g * per_group) * l.after, per_group * l.after, l.channels * l.after, l.before,
          g * per_group, l.after};
}

// Mean and M2 of a group: shifted sums over blocks of whole runs (at least one run per block), the shift
// being the mean of the group's first values and then the running mean, merged in double.
template <class T>
Moments group_moments(const T* x, const Group& grp) {
  Moments total;
  const std::int64_t runs_per_block = std::max<std::int64_t>(1, kBlock / std::max<std::int64_t>(1, grp.run));
  for (std::int64_t r0 = 0; r0 < grp.runs; r0 += runs_per_block) {
    const std::int64_t r1 = std::min(grp.runs, r0 + runs_per_block);
    const T s = static_cast<T>(total.count > 0 ? total.mean : initial_shift(x + grp.first, grp.run));
    T s1 = 0, s2 = 0;
    for (std::int64_t r = r0; r < r1; ++r) add_shifted_sums(x + grp.first + r * grp.stride, grp.run, s, s1, s2);
    const double count = static_cast<double>((r1 - r0) * grp.run);
    if (count > 0) total = combine_moments(total, shifted_moments(count, s, s1, s2));
  }
  return total;
}

// The mean as hi + lo in T and the inverse standard deviation in T.
template <class T>
struct Normalizer {
  T hi, lo, s;
  Normalizer(double mean, double invstd)
      : hi(static_cast<T>(mean)), lo(static_cast<T>(mean - static_cast<double>(hi))), s(static_cast<T>(invstd)) {}
  T operator()(T x) const { return ((x - hi) - lo) * s; }
};

// Channels-last samples (after == 1): a group is `per` channels of every pixel, so the loops take the
// pixels in blocks that stay in L1 and, inside a block, one vector of channels at a time across its
// pixels, with that vector's per-channel constants and sums in registers.
constexpr std::int64_t kPixelBlock = 64;

// Calls fn(p0, p1) for the blocks of pixels [0, pixels).
template <class Fn>
void for_each_pixel_block(std::int64_t pixels, Fn&& fn) {
  for (std::int64_t p0 = 0; p0 < pixels; p0 += kPixelBlock) fn(p0, std::min(pixels, p0 + kPixelBlock));
}

// Two sums of pixels [p0, p1) of one channel block: term(p, a, b) adds pixel p's terms to a and b. Even
// and odd pixels go to separate sums (two dependency chains), added at the end; the order depends on the
// pixel count alone.
template <class U, class Term>
void sum_pixels(std::int64_t p0, std::int64_t p1, Term term, U& sum_a, U& sum_b) {
  U a0{}, a1{}, b0{}, b1{};
  std::int64_t p = p0;
  for (; p + 1 < p1; p += 2) {
    term(p, a0, b0);
    term(p + 1, a1, b1);
  }
  if (p < p1) term(p, a0, b0);
  sum_a = a0 + a1;
  sum_b = b0 + b1;
}

// Adds a block's per-channel sums (a U of channels from c on) to per-channel arrays in D.
template <class U, class A>
void add_lanes(const U& v, std::int64_t c, A* out) {
  if constexpr (std::is_arithmetic_v<U>) {
    out[c] += static_cast<A>(v);
  } else {
    for (std::int64_t k = 0; k < static_cast<std::int64_t>(sizeof(U) / sizeof(v[0])); ++k)
      out[c + k] += static_cast<A>(v[k]);
  }
}

// The moments of sample x's groups ([pixels, C]): per-channel shifted sums over blocks of pixels in T, the
// shift per group being the mean of its first pixel's values and then the running mean; each block's
// channel sums are added up per group in double and merged by Chan's formula.
template <class T>
void channels_last_moments(const GroupNormLayout& l, const T* x, std::vector<Moments>& totals, std::vector<T>& shift,
                           std::vector<T>& s1, std::vector<T>& s2) {
  const std::int64_t C = l.channels, per = C / l.groups;
  std::fill(totals.begin(), totals.end(), Moments{});
  for (std::int64_t g = 0; g < l.groups; ++g)
    std::fill_n(shift.data() + g * per, per, static_cast<T>(initial_shift(x + g * per, per)));
  for_each_pixel_block(l.before, [&](std::int64_t p0, std::int64_t p1) {
    for_each_native_vector<T>(C, [&](std::int64_t c, auto unit) {
      using U = decltype(unit);
      const U sh = load_as<U>(shift.data() + c);
      U a, b;
      sum_pixels<U>(
          p0, p1,
          [&](std::int64_t p, U& sa, U& sb) {
            const U d = load_as<U>(x + p * C + c) - sh;
            sa += d;
            sb += d * d;
          },
          a, b);
      store_as(s1.data() + c, a);
      store_as(s2.data() + c, b);
    });
    for (std::int64_t g = 0; g < l.groups; ++g) {
      double a1 = 0, a2 = 0;
      for (std::int64_t c = g * per; c < (g + 1) * per; ++c) a1 += s1[static_cast<std::size_t>(c)], a2 += s2[static_cast<std::size_t>(c)];
      Moments& total = totals[static_cast<std::size_t>(g)];
      total = combine_moments(total, shifted_moments(static_cast<double>((p1 - p0) * per), shift[static_cast<std::size_t>(g * per)], a1, a2));
      std::fill_n(shift.data() + g * per, per, static_cast<T>(total.mean));
    }
  });
}

// Per-channel copies of the groups' normalizers of sample n: hi, lo and s of the group of each channel.
template <class T>
void channel_normalizers(const GroupNormLayout& l, std::int64_t n, const double* mean, const double* invstd, T* hi,
                         T* lo, T* scale) {
  const std::int64_t per = l.channels / l.groups;
  for (std::int64_t g = 0; g < l.groups; ++g) {
    const Normalizer<T> norm(mean[n * l.groups + g], invstd[n * l.groups + g]);
    std::fill_n(hi + g * per, per, norm.hi);
    std::fill_n(lo + g * per, per, norm.lo);
    std::fill_n(scale + g * per, per, norm.s);
  }
}

template <class T>
void channels_last_forward(const GroupNormLayout& l, const T* x, const T* gamma, const T* beta, double eps, T* y,
                           double* mean, double* invstd) {
  const std::int64_t C = l.channels, size = sample_size(l);
  parallel::for_each_chunk(0, l.samples, samples_per_chunk(l, 0), [&](std::int64_t, std::int64_t n0, std::int64_t n1) {
    const auto c_size = static_cast<std::size_t>(C);
    std::vector<Moments> totals(static_cast<std::size_t>(l.groups));
    std::vector<T> shift(c_size), s1(c_size), s2(c_size), hi(c_size), lo(c_size), scale(c_size), gam(c_size), bet(c_size);
    for (std::int64_t c = 0; c < C; ++c) {
      gam[static_cast<std::size_t>(c)] = gamma ? gamma[c] : T(1);
      bet[static_cast<std::size_t>(c)] = beta ? beta[c] : T(0);
    }
    for (std::int64_t n = n0; n < n1; ++n) {
      const T* xs = x + n * size;
      channels_last_moments(l, xs, totals, shift, s1, s2);
      for (std::int64_t g = 0; g < l.groups; ++g) {
        const Moments& m = totals[static_cast<std::size_t>(g)];
        const std::int64_t k = n * l.groups + g;
        mean[k] = m.mean;
        const double sd = std::sqrt((m.count > 0 ? m.m2 / m.count : 0.0) + eps);
        invstd[k] = sd == 0 ? 0.0 : 1.0 / sd;
      }
      channel_normalizers(l, n, mean, invstd, hi.data(), lo.data(), scale.data());
      T* ys = y + n * size;
      for_each_pixel_block(l.before, [&](std::int64_t p0, std::int64_t p1) {
        for_each_native_vector<T>(C, [&](std::int64_t c, auto unit) {
          using U = decltype(unit);
          const U h = load_as<U>(hi.data() + c), lw = load_as<U>(lo.data() + c), sc = load_as<U>(scale.data() + c);
          const U gm = load_as<U>(gam.data() + c), bt = load_as<U>(bet.data() + c);
          for (std::int64_t p = p0; p < p1; ++p)
            store_as(ys + p * C + c, ((load_as<U>(xs + p * C + c) - h) - lw) * sc * gm + bt);
        });
      });
    }
  });
}

// Backward sums the per-channel terms dy and dy·x̂ in T over each block of pixels, then in double.
template <class T>
void channels_last_backward(const GroupNormLayout& l, const T* dy, const T* x, const T* gamma, const double* mean,
                            const double* invstd, T* dx, std::vector<double>& partials, std::int64_t grain) {
  const std::int64_t C = l.channels, per = C / l.groups, size = sample_size(l);
  const bool params = !partials.empty();
  parallel::for_each_chunk(0, l.samples, grain, [&](std::int64_t chunk, std::int64_t n0, std::int64_t n1) {
    const auto c_size = static_cast<std::size_t>(C);
    std::vector<double> s_dy(c_size), s_dy_xhat(c_size);
    std::vector<T> hi(c_size), lo(c_size), scale(c_size), gam(c_size), mean_g(c_size), mean_gx(c_size);
    for (std::int64_t c = 0; c < C; ++c) gam[static_cast<std::size_t>(c)] = gamma ? gamma[c] : T(1);
    double* pg = params ? partials.data() + chunk * 2 * C : nullptr;
    for (std::int64_t n = n0; n < n1; ++n) {
      const T *xs = x + n * size, *dys = dy + n * size;
      channel_normalizers(l, n, mean, invstd, hi.data(), lo.data(), scale.data());
      std::fill(s_dy.begin(), s_dy.end(), 0.0);
      std::fill(s_dy_xhat.begin(), s_dy_xhat.end(), 0.0);
      for_each_pixel_block(l.before, [&](std::int64_t p0, std::int64_t p1) {
        for_each_native_vector<T>(C, [&](std::int64_t c, auto unit) {
          using U = decltype(unit);
          const U h = load_as<U>(hi.data() + c), lw = load_as<U>(lo.data() + c), sc = load_as<U>(scale.data() + c);
          U a, b;
          sum_pixels<U>(
              p0, p1,
              [&](std::int64_t p, U& sa, U& sb) {
                const U d = load_as<U>(dys + p * C + c);
                sa += d;
                sb += d * (((load_as<U>(xs + p * C + c) - h) - lw) * sc);
              },
              a, b);
          add_lanes(a, c, s_dy.data());
          add_lanes(b, c, s_dy_xhat.data());
        });
      });
      if (params)
        for (std::int64_t c = 0; c < C; ++c) {
          pg[c] += s_dy_xhat[static_cast<std::size_t>(c)];
          pg[C + c] += s_dy[static_cast<std::size_t>(c)];
        }
      if (!dx) continue;
      const double count = static_cast<double>(l.before * per);
      for (std::int64_t g = 0; g < l.groups; ++g) {
        double sum_g = 0, sum_gx = 0;
        for (std::int64_t c = g * per; c < (g + 1) * per; ++c) {
          const auto i = static_cast<std::size_t>(c);
          sum_g += static_cast<double>(gam[i]) * s_dy[i];
          sum_gx += static_cast<double>(gam[i]) * s_dy_xhat[i];
        }
        std::fill_n(mean_g.data() + g * per, per, static_cast<T>(sum_g / count));
        std::fill_n(mean_gx.data() + g * per, per, static_cast<T>(sum_gx / count));
      }
      T* dxs = dx + n * size;
      for_each_pixel_block(l.before, [&](std::int64_t p0, std::int64_t p1) {
        for_each_native_vector<T>(C, [&](std::int64_t c, auto unit) {
          using U = decltype(unit);
          const U h = load_as<U>(hi.data() + c), lw = load_as<U>(lo.data() + c), sc = load_as<U>(scale.data() + c);
          const U gm = load_as<U>(gam.data() + c), mg = load_as<U>(mean_g.data() + c);
          const U mgx = load_as<U>(mean_gx.data() + c);
          for (std::int64_t p = p0; p < p1; ++p) {
            const U xhat = ((load_as<U>(xs + p * C + c) - h) - lw) * sc;
            store_as(dxs + p * C + c, sc * (load_as<U>(dys + p * C + c) * gm - mg - xhat * mgx));
          }
        });
      });
    }
  });
}

}  // namespace

template <class T>
void group_norm_forward(const GroupNormLayout& l, const T* x, const T* gamma, const T* beta, double eps, T* y,
                        double* mean, double* invstd) {
  check_layout("group_norm_forward", l, eps);
  if (sample_size(l) == 0) {  // empty groups: mean 0, variance 0
    std::fill(mean, mean + l.samples * l.groups, 0.0);
    std::fill(invstd, invstd + l.samples * l.groups, eps > 0 ? 1.0 / std::sqrt(eps) : 0.0);
    return;
  }
  if (l.after == 1) return channels_last_forward(l, x, gamma, beta, eps, y, mean, invstd);
  parallel::for_each_chunk(0, l.samples, samples_per_chunk(l, 0), [&](std::int64_t, std::int64_t n0, std::int64_t n1) {
    for (std::int64_t n = n0; n < n1; ++n)
      for (std::int64_t g = 0; g < l.groups; ++g) {
        const Group grp = group_of(l, n, g);
        const Moments m = group_moments(x, grp);
        const std::int64_t k = n * l.groups + g;
        mean[k] = m.mean;
        const double sd = std::sqrt((m.count > 0 ? m.m2 / m.count : 0.0) + eps);
        invstd[k] = sd == 0 ? 0.0 : 1.0 / sd;
        const Normalizer<T> norm(mean[k], invstd[k]);
        for (std::int64_t r = 0; r < grp.runs; ++r)
          for (std::int64_t c = 0; c < grp.run / grp.per_channel; ++c) {
            const std::int64_t ch = grp.channel0 + c, off = grp.first + r * grp.stride + c * grp.per_channel;
            const T gc = gamma ? gamma[ch] : T(1), bc = beta ? beta[ch] : T(0);
            for (std::int64_t i = off; i < off + grp.per_channel; ++i) y[i] = std::fma(norm(x[i]), gc, bc);
          }
      }
  });
}

template <class T>
void group_norm_backward(const GroupNormLayout& l, const T* dy, const T* x, const T* gamma, const double* mean,
                         const double* invstd, T* dx, T* dgamma, T* dbeta) {
  check_layout("group_norm_backward", l, 0.0);
  const bool params = dgamma || dbeta;
  const std::int64_t C = l.channels;
  const std::int64_t grain = samples_per_chunk(l, kMaxBackwardChunks);
  const std::int64_t chunks = l.samples && sample_size(l) ? parallel::num_chunks(0, l.samples, grain) : 0;
  // Per chunk: [dgamma | dbeta] partial sums in double.
  std::vector<double> partials(params ? static_cast<std::size_t>(chunks * 2 * C) : 0, 0.0);
  if (chunks > 0 && l.after == 1)
    channels_last_backward(l, dy, x, gamma, mean, invstd, dx, partials, grain);
  else if (chunks > 0)
    parallel::for_each_chunk(0, l.samples, grain, [&](std::int64_t chunk, std::int64_t n0, std::int64_t n1) {
      double* pg = params ? partials.data() + chunk * 2 * C : nullptr;
      for (std::int64_t n = n0; n < n1; ++n)
        for (std::int64_t g = 0; g < l.groups; ++g) {
          const Group grp = group_of(l, n, g);
          const std::int64_t k = n * l.groups + g, channels = grp.run / grp.per_channel;
          const Normalizer<T> norm(mean[k], invstd[k]);
          double sum_g = 0, sum_gx = 0;
          for (std::int64_t r = 0; r < grp.runs; ++r)
            for (std::int64_t c = 0; c < channels; ++c) {
              const std::int64_t ch = grp.channel0 + c, off = grp.first + r * grp.stride + c * grp.per_channel;
              const double gc = gamma ? static_cast<double>(gamma[ch]) : 1.0;
              double s_dy = 0, s_dy_xhat = 0;
              for (std::int64_t i = off; i < off + grp.per_channel; ++i) {
                const double d = static_cast<double>(dy[i]), xhat = static_cast<double>(norm(x[i]));
                s_dy += d;
                s_dy_xhat += d * xhat;
              }
              sum_g += gc * s_dy;
              sum_gx += gc * s_dy_xhat;
              if (params) {
                pg[ch] += s_dy_xhat;
                pg[C + ch] += s_dy;
              }
            }
          if (!dx) continue;
          const double count = static_cast<double>(grp.runs * grp.run);
          const T mean_g = static_cast<T>(sum_g / count), mean_gx = static_cast<T>(sum_gx / count), s = norm.s;
          for (std::int64_t r = 0; r < grp.runs; ++r)
            for (std::int64_t c = 0; c < channels; ++c) {
              const std::int64_t ch = grp.channel0 + c, off = grp.first + r * grp.stride + c * grp.per_channel;
              const T gc = gamma ? gamma[ch] : T(1);
              for (std::int64_t i = off; i < off + grp.per_channel; ++i)
                dx[i] = s * (dy[i] * gc - mean_g - norm(x[i]) * mean_gx);
            }
        }
    });
  if (!params) return;
  std::vector<double> sums(static_cast<std::size_t>(2 * C), 0.0);
  if (chunks > 0) sum_partials(partials, chunks, 2 * C, sums.data());
  for (std::int64_t c = 0; c < C; ++c) {
    if (dgamma) dgamma[c] = static_cast<T>(sums[c]);
    if (dbeta) dbeta[c] = static_cast<T>(sums[C + c]);
  }
}

template void group_norm_forward<float>(const GroupNormLayout&, const float*, const float*, const float*, double, float*,
                                        double*, double*);
template void group_norm_forward<double>(const GroupNormLayout&, const double*, const double*, const double*, double,
                                         double*, double*, double*);
template void group_norm_backward<float>(const GroupNormLayout&, const float*, const float*, const float*,
                                         const double*, const double*, float*, float*, float*);
template void group_norm_backward<double>(const GroupNormLayout&, const double*, const double*, const double*,
                                          const double*, const double*, double*, double*, double*);

}  // namespace keel::kernels
