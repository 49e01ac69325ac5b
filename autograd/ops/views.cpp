#include <fmt/format.h>

#include <cstring>

#include "keel/autograd/ops.h"
#include "keel/autograd/record.h"
#include "keel/core/dispatch.h"
#include "keel/core/error.h"

namespace keel::ops {

Tensor reshape(const Tensor& x, const Shape& shape) {
  Shape in_shape = x.shape();
  return record("reshape", x.reshape(shape), {x}, [in_shape](const Tensor& g) { return Grads{g.reshape(in_shape)}; });
}

Tensor permute(const Tensor& x, const std::vector<std::int64_t>& dims) {
  Tensor y = x.permute(dims);
  std::vector<std::int64_t> inverse(dims.size());
  for (std::size_t i = 0; i < dims.size(); ++i) inverse[normalize_axis(dims[i], x.dim(), "permute")] = static_cast<std::int64_t>(i);
  return record("permute", y, {x}, [inverse](const Tensor& g) { return Grads{g.permute(inverse)}; });
}

Tensor transpose(const Tensor& x, std::int64_t a, std::int64_t b) {
  return record("transpose", x.transpose(a, b), {x}, [a, b](const Tensor& g) { return Grads{g.transpose(a, b)}; });
}

namespace {

// The gradient of a view that selects part of x: zeros with g written into the selected part.
template <class SelectFn>
Tensor scatter_into_zeros(const Tensor& g, const Shape& shape, SelectFn select) {
  Tensor full = Tensor::zeros(shape, g.dtype());
  Tensor part = select(full);
  part.copy_from(g);
  return full;
}

}  // namespace

Tensor narrow(const Tensor& x, std::int64_t axis, std::int64_t start, std::int64_t length) {
  Shape in_shape = x.shape();
  return record("narrow", x.narrow(axis, start, length), {x}, [=](const Tensor& g) {
    return Grads{scatter_into_zeros(g, in_shape, [&](const Tensor& t) { return t.narrow(axis, start, length); })};
  });
}

Tensor slice(const Tensor& x, std::int64_t axis, std::int64_t start, std::int64_t stop, std::int64_t step) {
  Shape in_shape = x.shape();
  return record("slice", x.slice(axis, start, stop, step), {x}, [=](const Tensor& g) {
    return Grads{scatter_into_zeros(g, in_shape, [&](const Tensor& t) { return t.slice(axis, start, stop, step); })};
  });
}

Tensor broadcast_to(const Tensor& x, const Shape& shape) {
  // The engine sums the gradient back to x's shape.
  return record("broadcast_to", x.expand(shape), {x}, [](const Tensor& g) { return Grads{g}; });
}

Tensor squeeze(const Tensor& x, std::int64_t axis) { return reshape(x, x.squeeze(axis).shape()); }
Tensor unsqueeze(const Tensor& x, std::int64_t axis) { return reshape(x, x.unsqueeze(axis).shape()); }

Tensor flatten(const Tensor& x, std::int64_t start_axis) {
  int start = normalize_axis(start_axis, x.dim(), "flatten");
  Shape shape(x.shape().begin(), x.shape().begin() + start);
  shape.push_back(-1);
  if (x.numel() == 0) {
    std::int64_t rest = 1;
    for (std::int64_t i = start; i < x.dim(); ++i) rest *= x.shape()[i];
    shape.back() = rest;
  }
  return reshape(x, shape);
}

Tensor contiguous(const Tensor& x) {
  if (x.is_contiguous()) return x;
  return record("contiguous", x.contiguous(), {x}, [](const Tensor& g) { return Grads{g}; });
}

Tensor concat(const std::vector<Tensor>& xs, std::int64_t axis) {
  if (xs.empty()) throw ValueError("concat: needs at least one tensor");
  int a = normalize_axis(axis, xs[0].dim(), "concat");
  Shape shape = xs[0].shape();
  shape[a] = 0;
  for (const Tensor& t : xs) {
    Shape expect = xs[0].shape();
    expect[a] = t.dim() == xs[0].dim() ? t.shape()[a] : -1;
    if (t.shape() != expect)
      throw ShapeError(fmt::format("concat: shapes {} and {} differ outside axis {}", to_string(xs[0].shape()),
                                   to_string(t.shape()), a));
    if (t.dtype() != xs[0].dtype())
      throw ValueError(fmt::format("concat: dtypes {} and {} differ", dtype_name(xs[0].dtype()), dtype_name(t.dtype())));
    shape[a] += t.shape()[a];
  }
  Tensor out = Tensor::empty(shape, xs[0].dtype());
  std::vector<std::int64_t> starts;
  std::int64_t at = 0;
  for (const Tensor& t : xs) {
    starts.push_back(at);
    Tensor part = out.narrow(a, at, t.shape()[a]);
    part.copy_from(t);
    at += t.shape()[a];
  }
  std::vector<std::int64_t> lengths;
  for (const Tensor& t : xs) lengths.push_back(t.shape()[a]);
  return record("concat", out, xs, [a, starts, lengths](const Tensor& g) {
    Grads grads;
    for (std::size_t i = 0; i < starts.size(); ++i) grads.push_back(g.narrow(a, starts[i], lengths[i]));
    return grads;
  });
}

Tensor take_rows(const Tensor& x, const Tensor& indices) {
  if (indices.dtype() != DType::int64 || indices.dim() != 1)
    throw ValueError(fmt::format("take_rows: indices must be a rank-1 int64 tensor, got {} of shape {}",
                                 dtype_name(indices.dtype()), to_string(indices.shape())));
  if (x.dim() < 1) throw ShapeError("take_rows: x must have rank >= 1");
  const std::int64_t rows = x.shape()[0];
  Tensor idx = indices.contiguous();
  const std::int64_t* ip = idx.data<std::int64_t>();
  for (std::int64_t i = 0; i < idx.numel(); ++i)
    if (ip[i] < 0 || ip[i] >= rows)
      throw IndexError(fmt::format("take_rows: index {} at position {} is out of range for {} rows", ip[i], i, rows));
  Shape shape = x.shape();
  shape[0] = idx.numel();
  Tensor src = x.contiguous();
  Tensor out = Tensor::empty(shape, x.dtype());
  const std::int64_t row_bytes = (rows ? src.numel() / rows : 0) * static_cast<std::int64_t>(dtype_size(x.dtype()));
  for (std::int64_t i = 0; i < idx.numel(); ++i)
    std::memcpy(static_cast<char*>(out.raw_data()) + i * row_bytes,
                static_cast<const char*>(src.raw_data()) + ip[i] * row_bytes, static_cast<std::size_t>(row_bytes));
  Shape in_shape = x.shape();
  return record("take_rows", out, {x}, [idx, in_shape](const Tensor& g) {
    Tensor gx = Tensor::zeros(in_shape, g.dtype());
    Tensor gc = g.contiguous();
    const std::int64_t* p = idx.data<std::int64_t>();
    const std::int64_t width = in_shape[0] ? gx.numel() / in_shape[0] : 0;
    keel::detail::dispatch_float(g.dtype(), "take_rows", [&](auto tag) {
      using T = decltype(tag);
      T* dst = gx.data<T>();
      const T* src_g = gc.data<T>();
      for (std::int64_t i = 0; i < idx.numel(); ++i)
        for (std::int64_t j = 0; j < width; ++j) dst[p[i] * width + j] += src_g[i * width + j];
    });
    return Grads{gx};
  });
}

}  // namespace keel::ops
