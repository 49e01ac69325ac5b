#include <fmt/format.h>

#include <algorithm>

#include "keel/autograd/ops.h"
#include "keel/autograd/engine.h"
#include "keel/autograd/grad_mode.h"
#include "keel/autograd/record.h"
#include "keel/autograd/detail/image_ops.h"
#include "keel/core/dispatch.h"
#include "keel/core/error.h"
#include "keel/core/kernels/conv2d.h"
#include "keel/core/kernels/elementwise.h"
#include "keel/core/kernels/pooling.h"

namespace keel::ops {
namespace {

using kernels::Layout;
using detail::Dims;
using detail::dims_of;
using detail::empty_batch_op;
using detail::output_shape;
using detail::require_rank4;

}  // namespace

Tensor conv2d(const Tensor& x_in, const Tensor& kernel_in, const Tensor& bias_in, const Conv2dOptions& o) {
  require_rank4(x_in, "conv2d");
  if (kernel_in.dim() != 4)
    throw ShapeError(fmt::format("conv2d: the kernel must be [kh, kw, in, out], got shape {}", to_string(kernel_in.shape())));
  Dims d = dims_of(x_in, o.channels_first);
  if (kernel_in.shape()[2] != d.c)
    throw ShapeError(fmt::format("conv2d: input has {} channels (shape {}) but the kernel expects {} (kernel shape {})",
                                 d.c, to_string(x_in.shape()), kernel_in.shape()[2], to_string(kernel_in.shape())));
  if (bias_in.defined() && bias_in.shape() != Shape{kernel_in.shape()[3]})
    throw ShapeError(fmt::format("conv2d: bias shape {} does not match {} filters", to_string(bias_in.shape()),
                                 kernel_in.shape()[3]));
  const Layout layout = o.channels_first ? Layout::NCHW : Layout::NHWC;
  kernels::Conv2dGeometry g = kernels::conv2d_geometry(layout, std::max<std::int64_t>(d.n, 1), d.h, d.w, d.c,
                                                       kernel_in.shape()[3], kernel_in.shape()[0], kernel_in.shape()[1],
                                                       o.stride_h, o.stride_w, o.dilation_h, o.dilation_w, o.same_padding);
  if (d.n == 0)
    return empty_batch_op("conv2d", output_shape(0, g.out_h, g.out_w, g.out_c, o.channels_first), x_in.dtype(),
                          {x_in, kernel_in, bias_in});
  Tensor x = x_in.contiguous(), kernel = kernel_in.contiguous(), bias = bias_in.defined() ? bias_in.contiguous() : Tensor();
  Tensor y = Tensor::empty(output_shape(g.batch, g.out_h, g.out_w, g.out_c, o.channels_first), x.dtype());
  keel::detail::dispatch_float(x.dtype(), "conv2d", [&](auto tag) {
    using T = decltype(tag);
    kernels::conv2d_forward<T>(g, x.data<T>(), kernel.data<T>(), bias.defined() ? bias.data<T>() : nullptr, y.data<T>(),
                               o.relu);
  });
  bool has_bias = bias.defined(), relu = o.relu;
  // The first conv of a network has an input that needs no gradient, a frozen one has weights that
  // need none: each skipped product is a third of the backward's work.
  const bool need_x = requires_grad(x_in), need_weights = requires_grad(kernel_in) || requires_grad(bias_in);
  return record("conv2d", y, {x_in, kernel_in, bias_in},
                [g, x, kernel, y, has_bias, relu, need_x, need_weights](const Tensor& grad_y) {
    Tensor gy = (relu ? kernels::relu_backward(grad_y, y) : grad_y).contiguous();
    Tensor gx, gk, gb;
    if (need_x) gx = Tensor::empty(x.shape(), x.dtype());
    if (need_weights) {
      gk = Tensor::empty(kernel.shape(), kernel.dtype());
      if (has_bias) gb = Tensor::empty({g.out_c}, x.dtype());
    }
    keel::detail::dispatch_float(x.dtype(), "conv2d", [&](auto tag) {
      using T = decltype(tag);
      const auto data = [](Tensor& t) { return t.defined() ? t.data<T>() : nullptr; };
      kernels::conv2d_backward<T>(g, x.data<T>(), gy.data<T>(), kernel.data<T>(), data(gx), data(gk), data(gb));
    });
    return Grads{gx, gk, gb};
  }, {x, kernel, y});
}

namespace {

kernels::Pool2dGeometry pool_geometry(const Tensor& x, const Pool2dOptions& o, const char* op) {
  require_rank4(x, op);
  Dims d = dims_of(x, o.channels_first);
  return kernels::pool2d_geometry(o.channels_first ? Layout::NCHW : Layout::NHWC, std::max<std::int64_t>(d.n, 1), d.h, d.w,
                                  d.c, o.pool_h, o.pool_w, o.stride_h, o.stride_w, o.same_padding);
}

}  // namespace

Tensor max_pool2d(const Tensor& x_in, const Pool2dOptions& o) {
  kernels::Pool2dGeometry g = pool_geometry(x_in, o, "max_pool2d");
  if (x_in.shape()[0] == 0)
    return empty_batch_op("max_pool2d", output_shape(0, g.out_h, g.out_w, g.channels, o.channels_first), x_in.dtype(),
                          {x_in});
  Tensor x = x_in.contiguous();
  Tensor y = Tensor::empty(output_shape(g.batch, g.out_h, g.out_w, g.channels, o.channels_first), x.dtype());
  // The argmax is only needed (and only paid for) when a gradient will flow; 2x2 windows find their
  // maxima again from x and y.
  const bool two_by_two = kernels::max_pool2d_is_2x2(g);
  bool need_argmax = requires_grad(x_in) && grad_enabled() && !two_by_two;
  Tensor argmax = need_argmax ? Tensor::empty(y.shape(), DType::int64) : Tensor();
  keel::detail::dispatch_float(x.dtype(), "max_pool2d", [&](auto tag) {
    using T = decltype(tag);
    kernels::max_pool2d_forward<T>(g, x.data<T>(), y.data<T>(), need_argmax ? argmax.data<std::int64_t>() : nullptr);
  });
  Shape in_shape = x.shape();
  if (two_by_two)
    return record("max_pool2d", y, {x_in}, [g, x, y](const Tensor& grad_y) {
      Tensor gy = grad_y.contiguous();
      Tensor gx = Tensor::empty(x.shape(), gy.dtype());
      keel::detail::dispatch_float(gy.dtype(), "max_pool2d", [&](auto tag) {
        using T = decltype(tag);
        kernels::max_pool2d_backward_2x2<T>(g, x.data<T>(), y.data<T>(), gy.data<T>(), gx.data<T>());
      });
      return Grads{gx};
    }, {x, y});
  return record("max_pool2d", y, {x_in}, [g, argmax, in_shape](const Tensor& grad_y) {
    Tensor gy = grad_y.contiguous();
    Tensor gx = Tensor::empty(in_shape, gy.dtype());
    keel::detail::dispatch_float(gy.dtype(), "max_pool2d", [&](auto tag) {
      using T = decltype(tag);
      kernels::max_pool2d_backward<T>(g, gy.data<T>(), argmax.data<std::int64_t>(), gx.data<T>());
    });
    return Grads{gx};
  });
}

Tensor avg_pool2d(const Tensor& x_in, const Pool2dOptions& o) {
  kernels::Pool2dGeometry g = pool_geometry(x_in, o, "avg_pool2d");
  if (x_in.shape()[0] == 0)
    return empty_batch_op("avg_pool2d", output_shape(0, g.out_h, g.out_w, g.channels, o.channels_first), x_in.dtype(),
                          {x_in});
  Tensor x = x_in.contiguous();
  Tensor y = Tensor::empty(output_shape(g.batch, g.out_h, g.out_w, g.channels, o.channels_first), x.dtype());
  keel::detail::dispatch_float(x.dtype(), "avg_pool2d", [&](auto tag) {
    using T = decltype(tag);
    kernels::avg_pool2d_forward<T>(g, x.data<T>(), y.data<T>());
  });
  Shape in_shape = x.shape();
  return record("avg_pool2d", y, {x_in}, [g, in_shape](const Tensor& grad_y) {
    Tensor gy = grad_y.contiguous();
    Tensor gx = Tensor::empty(in_shape, gy.dtype());
    keel::detail::dispatch_float(gy.dtype(), "avg_pool2d", [&](auto tag) {
      using T = decltype(tag);
      kernels::avg_pool2d_backward<T>(g, gy.data<T>(), gx.data<T>());
    });
    return Grads{gx};
  });
}

}  // namespace keel::ops
