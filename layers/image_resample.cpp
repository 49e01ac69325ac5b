#include "keel/layers/image_resample.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>

#include "keel/autograd/record.h"
#include "keel/core/error.h"
#include "keel/core/parallel.h"

namespace keel::layers::image {
namespace {

// One interpolation tap along an axis: the source index (−1: outside, reads the fill value).
struct Tap {
  std::int64_t index = -1;
  double weight = 0.0;
};

std::int64_t floor_mod(std::int64_t i, std::int64_t n) { return ((i % n) + n) % n; }

std::int64_t fill_index(std::int64_t i, std::int64_t n, FillMode mode) {
  if (i >= 0 && i < n) return i;
  switch (mode) {
    case FillMode::constant: return -1;
    case FillMode::nearest: return std::clamp<std::int64_t>(i, 0, n - 1);
    case FillMode::wrap: return floor_mod(i, n);
    case FillMode::reflect: {
      const std::int64_t m = floor_mod(i, 2 * n);
      return m < n ? m : 2 * n - 1 - m;
    }
  }
  return -1;
}

// Two taps per output index (the second has weight 0 under nearest interpolation).
std::vector<Tap> axis_taps(const AxisMap& map, std::int64_t n, const ResampleOptions& o) {
  std::vector<Tap> taps(2 * static_cast<std::size_t>(n));
  for (std::int64_t out = 0; out < n; ++out) {
    const double src = map.sign * static_cast<double>(out) + map.offset;
    Tap* t = &taps[2 * static_cast<std::size_t>(out)];
    if (o.interpolation == Interpolation::nearest) {
      t[0] = {fill_index(static_cast<std::int64_t>(std::nearbyint(src)), n, o.fill_mode), 1.0};
    } else {
      const double lower = std::floor(src), frac = src - lower;
      const auto i = static_cast<std::int64_t>(lower);
      t[0] = {fill_index(i, n, o.fill_mode), 1.0 - frac};
      t[1] = {fill_index(i + 1, n, o.fill_mode), frac};
    }
  }
  return taps;
}

struct Plan {
  std::int64_t n = 0, h = 0, w = 0, c = 0;
  double fill_value = 0.0;
  std::vector<std::vector<Tap>> rows, cols;  // per image
};

// Visits every (output pixel, input pixel or fill, weight) triple of image `b`.
template <class Fn>
void for_each_tap(const Plan& p, std::int64_t b, Fn&& fn) {
  const std::vector<Tap>& rows = p.rows[b];
  const std::vector<Tap>& cols = p.cols[b];
  for (std::int64_t y = 0; y < p.h; ++y)
    for (int ty = 0; ty < 2; ++ty) {
      const Tap ry = rows[2 * y + ty];
      if (ry.weight == 0.0) continue;
      for (std::int64_t x = 0; x < p.w; ++x)
        for (int tx = 0; tx < 2; ++tx) {
          const Tap rx = cols[2 * x + tx];
          if (rx.weight == 0.0) continue;
          const std::int64_t source = ry.index < 0 || rx.index < 0 ? -1 : ry.index * p.w + rx.index;
          fn(y * p.w + x, source, ry.weight * rx.weight);
        }
    }
}

std::int64_t images_per_chunk(const Plan& p) { return std::max<std::int64_t>(1, 16384 / std::max<std::int64_t>(1, p.h * p.w * p.c)); }

template <class T>
Tensor forward(const Tensor& x, const Plan& p) {
  Tensor y = Tensor::zeros(x.shape(), x.dtype());
  const T* in = x.data<T>();
  T* out = y.data<T>();
  const std::int64_t image = p.h * p.w * p.c;
  parallel::for_each_chunk(0, p.n, images_per_chunk(p), [&](std::int64_t, std::int64_t b0, std::int64_t b1) {
    for (std::int64_t b = b0; b < b1; ++b)
      for_each_tap(p, b, [&](std::int64_t to, std::int64_t from, double weight) {
        T* o = out + b * image + to * p.c;
        const T wt = static_cast<T>(weight);
        if (from < 0) {
          const T fill = static_cast<T>(weight * p.fill_value);
          for (std::int64_t k = 0; k < p.c; ++k) o[k] += fill;
        } else {
          const T* i = in + b * image + from * p.c;
          for (std::int64_t k = 0; k < p.c; ++k) o[k] += wt * i[k];
        }
      });
  });
  return y;
}

// The adjoint: every output gradient goes back to the input pixels it was read from.
template <class T>
Tensor backward(const Tensor& g_in, const Plan& p) {
  Tensor g = g_in.contiguous();
  Tensor gx = Tensor::zeros(g.shape(), g.dtype());
  const T* go = g.data<T>();
  T* gi = gx.data<T>();
  const std::int64_t image = p.h * p.w * p.c;
  parallel::for_each_chunk(0, p.n, images_per_chunk(p), [&](std::int64_t, std::int64_t b0, std::int64_t b1) {
    for (std::int64_t b = b0; b < b1; ++b)
      for_each_tap(p, b, [&](std::int64_t to, std::int64_t from, double weight) {
        if (from < 0) return;
        const T* o = go + b * image + to * p.c;
        T* i = gi + b * image + from * p.c;
        const T wt = static_cast<T>(weight);
        for (std::int64_t k = 0; k < p.c; ++k) i[k] += wt * o[k];
      });
  });
  return gx;
}

}  // namespace

std::optional<FillMode> fill_mode_from_name(std::string_view name) {
  if (name == "reflect") return FillMode::reflect;
  if (name == "wrap") return FillMode::wrap;
  if (name == "constant") return FillMode::constant;
  if (name == "nearest") return FillMode::nearest;
  return std::nullopt;
}

std::optional<Interpolation> interpolation_from_name(std::string_view name) {
  if (name == "bilinear") return Interpolation::bilinear;
  if (name == "nearest") return Interpolation::nearest;
  return std::nullopt;
}

Tensor resample(const Tensor& x, const std::vector<ImageMap>& maps, const ResampleOptions& options) {
  if (x.dim() != 4)
    throw ShapeError(fmt::format("image::resample: expected an [N, H, W, C] batch, got shape {}", to_string(x.shape())));
  if (x.dtype() != DType::float32 && x.dtype() != DType::float64)
    throw ValueError(fmt::format("image::resample: expected float32 or float64 images, got {}", dtype_name(x.dtype())));
  auto plan = std::make_shared<Plan>();
  plan->n = x.size(0), plan->h = x.size(1), plan->w = x.size(2), plan->c = x.size(3);
  if (static_cast<std::int64_t>(maps.size()) != plan->n)
    throw ValueError(fmt::format("image::resample: {} maps for {} images", maps.size(), plan->n));
  plan->fill_value = options.fill_value;
  for (const ImageMap& m : maps) {
    plan->rows.push_back(axis_taps(m.rows, plan->h, options));
    plan->cols.push_back(axis_taps(m.cols, plan->w, options));
  }
  const Tensor xc = x.contiguous();
  const bool f32 = x.dtype() == DType::float32;
  Tensor y = f32 ? forward<float>(xc, *plan) : forward<double>(xc, *plan);
  return record("resample_image", y, {x}, [plan, f32](const Tensor& g) {
    return Grads{f32 ? backward<float>(g, *plan) : backward<double>(g, *plan)};
  });
}

}  // namespace keel::layers::image
