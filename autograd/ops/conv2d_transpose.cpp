#include <fmt/format.h>

#include <algorithm>

#include "keel/autograd/detail/image_ops.h"
#include "keel/autograd/engine.h"
#include "keel/autograd/ops.h"
#include "keel/autograd/record.h"
#include "keel/core/dispatch.h"
#include "keel/core/error.h"
#include "keel/core/kernels/conv2d.h"
#include "keel/core/kernels/window_geometry.h"

namespace keel::ops {
namespace {

void require_output_padding(const char* axis, std::int64_t output_padding, std::int64_t stride) {
  if (output_padding >= stride)
    throw ValueError(fmt::format("conv2d_transpose: output_padding must be smaller than the stride, got output_padding "
                                 "{} and stride {} along the {}",
                                 output_padding, stride, axis));
}

}  // namespace

// The transposed convolution is conv2d's input gradient, with the roles of input and output swapped: y is
// conv2d_backward_input(grad_y = x), its input gradient is conv2d_forward(grad_y) and its kernel gradient
// conv2d_backward_kernel(x = grad_y, grad_y = x), all on the geometry of the convolution that maps y's shape
// back to x's.
Tensor conv2d_transpose(const Tensor& x_in, const Tensor& kernel_in, const Tensor& bias, const Conv2dTransposeOptions& o) {
  detail::require_rank4(x_in, "conv2d_transpose");
  if (kernel_in.dim() != 4)
    throw ShapeError(fmt::format("conv2d_transpose: the kernel must be [kh, kw, filters, in], got shape {}",
                                 to_string(kernel_in.shape())));
  const detail::Dims d = detail::dims_of(x_in, o.channels_first);
  const Shape& ks = kernel_in.shape();
  if (ks[3] != d.c)
    throw ShapeError(fmt::format("conv2d_transpose: input has {} channels (shape {}) but the kernel expects {} (kernel "
                                 "shape {})",
                                 d.c, to_string(x_in.shape()), ks[3], to_string(ks)));
  if (bias.defined() && bias.shape() != Shape{ks[2]})
    throw ShapeError(fmt::format("conv2d_transpose: bias shape {} does not match {} filters", to_string(bias.shape()), ks[2]));
  require_output_padding("height", o.output_padding_h, o.stride_h);
  require_output_padding("width", o.output_padding_w, o.stride_w);
  kernels::require_at_least("conv2d_transpose", {{"in_h", d.h}, {"in_w", d.w}}, 1, true);
  kernels::require_at_least("conv2d_transpose",
                            {{"kernel_h", ks[0]}, {"kernel_w", ks[1]}, {"stride_h", o.stride_h},
                             {"stride_w", o.stride_w}, {"dilation_h", o.dilation_h}, {"dilation_w", o.dilation_w}},
                            1, false);
  const std::int64_t out_h = kernels::transposed_extent(d.h, ks[0], o.stride_h, o.dilation_h, o.output_padding_h, o.same_padding);
  const std::int64_t out_w = kernels::transposed_extent(d.w, ks[1], o.stride_w, o.dilation_w, o.output_padding_w, o.same_padding);
  const kernels::Conv2dGeometry g = kernels::conv2d_geometry(
      o.channels_first ? kernels::Layout::NCHW : kernels::Layout::NHWC, std::max<std::int64_t>(d.n, 1), out_h, out_w,
      ks[2], ks[3], ks[0], ks[1], o.stride_h, o.stride_w, o.dilation_h, o.dilation_w, o.same_padding);
  if (g.out_h != d.h || g.out_w != d.w)
    throw ShapeError(fmt::format("conv2d_transpose: an output of {}x{} does not convolve back to the input's {}x{} "
                                 "(kernel {}x{}, strides ({}, {}), {} padding); choose another output_padding",
                                 out_h, out_w, d.h, d.w, ks[0], ks[1], o.stride_h, o.stride_w,
                                 o.same_padding ? "same" : "valid"));
  const Shape out_shape = detail::output_shape(d.n, out_h, out_w, ks[2], o.channels_first);
  Tensor y;
  if (d.n == 0) {
    y = detail::empty_batch_op("conv2d_transpose", out_shape, x_in.dtype(), {x_in, kernel_in});
  } else {
    Tensor x = x_in.contiguous(), kernel = kernel_in.contiguous();
    y = Tensor::empty(out_shape, x.dtype());
    keel::detail::dispatch_float(x.dtype(), "conv2d_transpose", [&](auto tag) {
      using T = decltype(tag);
      kernels::conv2d_backward_input<T>(g, x.data<T>(), kernel.data<T>(), y.data<T>());
    });
    const bool need_x = requires_grad(x_in), need_kernel = requires_grad(kernel_in);
    y = record("conv2d_transpose", y, {x_in, kernel_in}, [g, x, kernel, need_x, need_kernel](const Tensor& grad_y) {
      Tensor gy = grad_y.contiguous();
      Tensor gx = need_x ? Tensor::empty(x.shape(), x.dtype()) : Tensor();
      Tensor gk = need_kernel ? Tensor::empty(kernel.shape(), kernel.dtype()) : Tensor();
      keel::detail::dispatch_float(x.dtype(), "conv2d_transpose", [&](auto tag) {
        using T = decltype(tag);
        if (need_x) kernels::conv2d_forward<T>(g, gy.data<T>(), kernel.data<T>(), nullptr, gx.data<T>());
        if (need_kernel) kernels::conv2d_backward_kernel<T>(g, gy.data<T>(), x.data<T>(), gk.data<T>(), nullptr);
      });
      return Grads{gx, gk};
    }, {x, kernel});
  }
  if (!bias.defined()) return y;
  return add(y, o.channels_first ? reshape(bias, {ks[2], 1, 1}) : bias);
}

}  // namespace keel::ops
