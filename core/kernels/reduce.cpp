#include "keel/core/kernels/reduce.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "keel/core/dispatch.h"
#include "keel/core/error.h"
#include "keel/core/parallel.h"

namespace keel::kernels {
namespace {

// Elements per block of a reduction: blocks are the unit of parallel work and of ordered combination.
constexpr std::int64_t kBlock = 16384;

const char* reduce_name(ReduceOp op) {
  switch (op) {
    case ReduceOp::sum: return "sum";
    case ReduceOp::mean: return "mean";
    case ReduceOp::max: return "max";
    case ReduceOp::min: return "min";
  }
  return "reduce";
}

template <class T>
using Acc = std::conditional_t<std::is_floating_point_v<T>, double, T>;

// Sum of n contiguous values with 8 independent accumulators (vectorizes without reassociating).
template <class T>
double row_sum(const T* p, std::int64_t n) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  std::int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) acc[j] += static_cast<double>(p[i + j]);
  for (; i < n; ++i) acc[i % 8] += static_cast<double>(p[i]);
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

// NaN-propagating extreme of n contiguous values.
template <class T, bool IsMax>
T row_extreme(const T* p, std::int64_t n) {
  T best = p[0];
  for (std::int64_t i = 1; i < n; ++i) {
    T v = p[i];
    bool better = IsMax ? (v > best) : (v < best);
    if (better || v != v) best = v;
    if (best != best) return best;
  }
  return best;
}

template <class T>
T combine_extreme(T a, T b, bool is_max) {
  if (a != a) return a;
  if (b != b) return b;
  return is_max ? std::max(a, b) : std::min(a, b);
}

// x is contiguous with shape [rows, len]; reduces each row.
template <class T>
void reduce_rows(ReduceOp op, const T* x, std::int64_t rows, std::int64_t len, T* out) {
  const std::int64_t blocks = std::max<std::int64_t>(1, (len + kBlock - 1) / kBlock);
  std::vector<double> sums(op == ReduceOp::sum || op == ReduceOp::mean ? rows * blocks : 0);
  std::vector<T> extremes(sums.empty() ? rows * blocks : 0);
  const std::int64_t grain = std::max<std::int64_t>(1, kBlock / std::max<std::int64_t>(1, len));
  parallel::for_each_chunk(0, rows * blocks, grain, [&](std::int64_t, std::int64_t t0, std::int64_t t1) {
    for (std::int64_t t = t0; t < t1; ++t) {
      std::int64_t r = t / blocks, b = t % blocks;
      std::int64_t begin = b * kBlock, n = std::min(len, begin + kBlock) - begin;
      const T* p = x + r * len + begin;
      if (!sums.empty()) sums[t] = row_sum(p, n);
      else if (op == ReduceOp::max) extremes[t] = row_extreme<T, true>(p, n);
      else extremes[t] = row_extreme<T, false>(p, n);
    }
  });
  for (std::int64_t r = 0; r < rows; ++r) {
    if (!sums.empty()) {
      double s = 0;
      for (std::int64_t b = 0; b < blocks; ++b) s += sums[r * blocks + b];
      if (op == ReduceOp::mean) s /= static_cast<double>(len);
      out[r] = static_cast<T>(s);
    } else {
      T e = extremes[r * blocks];
      for (std::int64_t b = 1; b < blocks; ++b) e = combine_extreme(e, extremes[r * blocks + b], op == ReduceOp::max);
      out[r] = e;
    }
  }
}

// x is contiguous with shape [len, cols]; reduces over the first axis (bias gradients, per-feature sums).
template <class T>
void reduce_leading(ReduceOp op, const T* x, std::int64_t len, std::int64_t cols, T* out) {
  const bool is_sum = op == ReduceOp::sum || op == ReduceOp::mean;
  const std::int64_t rows_per_block = std::max<std::int64_t>(1, kBlock / std::max<std::int64_t>(1, cols));
  const std::int64_t blocks = (len + rows_per_block - 1) / rows_per_block;
  std::vector<double> sums(is_sum ? blocks * cols : 0);
  std::vector<T> extremes(is_sum ? 0 : blocks * cols);
  parallel::for_each_chunk(0, blocks, 1, [&](std::int64_t, std::int64_t b0, std::int64_t b1) {
    for (std::int64_t b = b0; b < b1; ++b) {
      std::int64_t r0 = b * rows_per_block, r1 = std::min(len, r0 + rows_per_block);
      if (is_sum) {
        // 16 columns at a time, their accumulators held in registers across the rows.
        double* acc = sums.data() + b * cols;
        constexpr std::int64_t kCols = 16;
        std::int64_t c0 = 0;
        for (; c0 + kCols <= cols; c0 += kCols) {
          double r[kCols] = {};
          for (std::int64_t row = r0; row < r1; ++row) {
            const T* p = x + row * cols + c0;
            for (std::int64_t j = 0; j < kCols; ++j) r[j] += static_cast<double>(p[j]);
          }
          for (std::int64_t j = 0; j < kCols; ++j) acc[c0 + j] = r[j];
        }
        for (std::int64_t row = r0; row < r1; ++row)
          for (std::int64_t c = c0; c < cols; ++c) acc[c] += static_cast<double>(x[row * cols + c]);
      } else {
        T* acc = extremes.data() + b * cols;
        std::copy(x + r0 * cols, x + (r0 + 1) * cols, acc);
        for (std::int64_t r = r0 + 1; r < r1; ++r)
          for (std::int64_t c = 0; c < cols; ++c) acc[c] = combine_extreme(acc[c], x[r * cols + c], op == ReduceOp::max);
      }
    }
  });
  for (std::int64_t c = 0; c < cols; ++c) {
    if (is_sum) {
      double s = 0;
      for (std::int64_t b = 0; b < blocks; ++b) s += sums[b * cols + c];
      if (op == ReduceOp::mean) s /= static_cast<double>(len);
      out[c] = static_cast<T>(s);
    } else {
      T e = extremes[c];
      for (std::int64_t b = 1; b < blocks; ++b) e = combine_extreme(e, extremes[b * cols + c], op == ReduceOp::max);
      out[c] = e;
    }
  }
}

}  // namespace

std::vector<int> normalize_axes(const std::vector<std::int64_t>& axes, std::int64_t rank, const char* op) {
  std::vector<int> out;
  if (axes.empty()) {
    for (int i = 0; i < rank; ++i) out.push_back(i);
    return out;
  }
  for (std::int64_t a : axes) out.push_back(normalize_axis(a, rank, op));
  std::sort(out.begin(), out.end());
  if (std::adjacent_find(out.begin(), out.end()) != out.end())
    throw ShapeError(fmt::format("{}: axis {} is repeated in the axes {}", op, *std::adjacent_find(out.begin(), out.end()),
                                 to_string(Shape(axes.begin(), axes.end()))));
  return out;
}

Shape reduced_shape(const Shape& shape, const std::vector<int>& axes, bool keepdims) {
  Shape out;
  for (int i = 0; i < static_cast<int>(shape.size()); ++i) {
    bool reduced = std::binary_search(axes.begin(), axes.end(), i);
    if (!reduced) out.push_back(shape[i]);
    else if (keepdims) out.push_back(1);
  }
  return out;
}

Tensor reduce(ReduceOp op, const Tensor& x, const std::vector<std::int64_t>& axes_in, bool keepdims) {
  const char* name = reduce_name(op);
  std::vector<int> axes = normalize_axes(axes_in, x.dim(), name);
  Shape out_shape = reduced_shape(x.shape(), axes, keepdims);
  std::int64_t len = 1;
  for (int a : axes) len *= x.shape()[a];
  if (len == 0 && (op == ReduceOp::max || op == ReduceOp::min))
    throw ValueError(fmt::format("{}: cannot reduce over zero elements (shape {}, axes {})", name, to_string(x.shape()),
                                 to_string(Shape(axes.begin(), axes.end()))));
  return keel::detail::dispatch_float(x.dtype(), name, [&](auto tag) {
    using T = decltype(tag);
    Tensor out = Tensor::empty(out_shape, x.dtype());
    std::int64_t kept = out.numel();
    if (kept == 0) return out;
    if (len == 0) {
      out.fill(op == ReduceOp::sum ? 0.0 : std::numeric_limits<double>::quiet_NaN());
      return out;
    }
    // Leading axes reduced over a contiguous tensor: accumulate whole rows.
    bool leading = x.is_contiguous() && !axes.empty() && axes.back() == static_cast<int>(axes.size()) - 1;
    if (leading && static_cast<std::int64_t>(axes.size()) < x.dim()) {
      reduce_leading<T>(op, x.data<T>(), len, kept, out.data<T>());
      return out;
    }
    // Otherwise put the kept axes first and the reduced ones last, contiguous, and reduce rows.
    std::vector<std::int64_t> order;
    for (int i = 0; i < x.dim(); ++i)
      if (!std::binary_search(axes.begin(), axes.end(), i)) order.push_back(i);
    for (int a : axes) order.push_back(a);
    Tensor rows = x.permute(order).contiguous();
    reduce_rows<T>(op, rows.data<T>(), kept, len, out.data<T>());
    return out;
  });
}

Tensor argmax(const Tensor& x, std::int64_t axis, bool keepdims) {
  int a = normalize_axis(axis, x.dim(), "argmax");
  if (x.shape()[a] == 0)
    throw ValueError(fmt::format("argmax: axis {} of shape {} is empty", a, to_string(x.shape())));
  std::vector<int> axes{a};
  Shape out_shape = reduced_shape(x.shape(), axes, keepdims);
  std::vector<std::int64_t> order;
  for (int i = 0; i < x.dim(); ++i)
    if (i != a) order.push_back(i);
  order.push_back(a);
  Tensor out = Tensor::empty(out_shape, DType::int64);
  keel::detail::dispatch_all(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    Tensor rows = x.permute(order).contiguous();
    const T* p = rows.data<T>();
    std::int64_t len = x.shape()[a], n = out.numel();
    std::int64_t* o = out.data<std::int64_t>();
    parallel::for_each_chunk(0, n, std::max<std::int64_t>(1, kBlock / len), [&](std::int64_t, std::int64_t r0, std::int64_t r1) {
      for (std::int64_t r = r0; r < r1; ++r) {
        const T* row = p + r * len;
        std::int64_t best = 0;
        for (std::int64_t i = 1; i < len; ++i) {
          if (row[best] != row[best]) break;
          if (row[i] > row[best] || row[i] != row[i]) best = i;
        }
        o[r] = best;
      }
    });
  });
  return out;
}

}  // namespace keel::kernels
