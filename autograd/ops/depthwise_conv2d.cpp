#include <fmt/format.h>

#include <algorithm>

#include "keel/autograd/detail/image_ops.h"
#include "keel/autograd/engine.h"
#include "keel/autograd/ops.h"
#include "keel/autograd/record.h"
#include "keel/core/dispatch.h"
#include "keel/core/error.h"
#include "keel/core/kernels/depthwise_conv2d.h"

namespace keel::ops {
namespace {

// Taps [first, last) of one kernel axis that read the input for some output. The others multiply only
// padding (a dilation larger than the image under "same"); dropping them keeps the kernel's padded copy of
// the input within a few times the input and output sizes. At least one tap is kept.
struct TapRange {
  std::int64_t first, last;
};
TapRange taps_reading_input(std::int64_t in, std::int64_t out, std::int64_t kernel, std::int64_t stride,
                            std::int64_t dilation, std::int64_t pad) {
  // Tap i reads positions o * stride - pad + i * dilation for o in [0, out).
  const std::int64_t low = pad - (out - 1) * stride, high = pad + in - 1;
  std::int64_t first = low <= 0 ? 0 : (low + dilation - 1) / dilation;
  std::int64_t last = std::min(kernel, high / dilation + 1);
  if (first >= last) {
    first = std::min(kernel - 1, pad / dilation);
    last = first + 1;
  }
  return {first, last};
}

// The kernels on geometry g (the taps of kernel_in, which may be a trimmed view).
Tensor depthwise_conv2d_kernels(const kernels::DepthwiseConv2dGeometry& g, const Tensor& x_in, const Tensor& kernel_in,
                                const Tensor& bias_in) {
  Tensor x = x_in.contiguous(), kernel = kernel_in.contiguous(), bias = bias_in.defined() ? bias_in.contiguous() : Tensor();
  Tensor y = Tensor::empty(detail::output_shape(g.batch, g.out_h, g.out_w, g.out_c(), false), x.dtype());
  keel::detail::dispatch_float(x.dtype(), "depthwise_conv2d", [&](auto tag) {
    using T = decltype(tag);
    kernels::depthwise_conv2d_forward<T>(g, x.data<T>(), kernel.data<T>(), bias.defined() ? bias.data<T>() : nullptr,
                                         y.data<T>());
  });
  const bool has_bias = bias.defined();
  const bool need_x = requires_grad(x_in), need_weights = requires_grad(kernel_in) || requires_grad(bias_in);
  return record("depthwise_conv2d", y, {x_in, kernel_in, bias_in},
                [g, x, kernel, has_bias, need_x, need_weights](const Tensor& grad_y) {
    Tensor gy = grad_y.contiguous();
    Tensor gx, gk, gb;
    if (need_x) gx = Tensor::empty(x.shape(), x.dtype());
    if (need_weights) {
      gk = Tensor::empty(kernel.shape(), kernel.dtype());
      if (has_bias) gb = Tensor::empty({g.out_c()}, x.dtype());
    }
    keel::detail::dispatch_float(x.dtype(), "depthwise_conv2d", [&](auto tag) {
      using T = decltype(tag);
      auto data = [](const Tensor& t) { return t.defined() ? t.data<T>() : nullptr; };
      kernels::depthwise_conv2d_backward<T>(g, x.data<T>(), gy.data<T>(), kernel.data<T>(), data(gx), data(gk),
                                            data(gb));
    });
    return Grads{gx, gk, gb};
  }, {x, kernel});
}


// x is NHWC.
Tensor depthwise_conv2d_nhwc(const Tensor& x_in, const Tensor& kernel_in, const Tensor& bias_in,
                             const Conv2dOptions& o) {
  const detail::Dims d = detail::dims_of(x_in, false);
  const Shape& ks = kernel_in.shape();
  kernels::DepthwiseConv2dGeometry g = kernels::depthwise_conv2d_geometry(
      std::max<std::int64_t>(d.n, 1), d.h, d.w, d.c, ks[3], ks[0], ks[1], o.stride_h, o.stride_w, o.dilation_h,
      o.dilation_w, o.same_padding);
  if (d.n == 0)
    return detail::empty_batch_op("depthwise_conv2d", detail::output_shape(0, g.out_h, g.out_w, g.out_c(), false),
                                  x_in.dtype(), {x_in, kernel_in, bias_in});
  const TapRange rows = taps_reading_input(g.in_h, g.out_h, g.kernel_h, g.stride_h, g.dilation_h, g.pad_top);
  const TapRange cols = taps_reading_input(g.in_w, g.out_w, g.kernel_w, g.stride_w, g.dilation_w, g.pad_left);
  if (rows.last - rows.first < g.kernel_h || cols.last - cols.first < g.kernel_w) {
    // narrow's backward gives the dropped taps their zero gradient.
    const Tensor used = narrow(narrow(kernel_in, 0, rows.first, rows.last - rows.first), 1, cols.first,
                               cols.last - cols.first);
    g.kernel_h = rows.last - rows.first;
    g.kernel_w = cols.last - cols.first;
    g.pad_top -= rows.first * g.dilation_h;
    g.pad_left -= cols.first * g.dilation_w;
    return depthwise_conv2d_kernels(g, x_in, used, bias_in);
  }
  return depthwise_conv2d_kernels(g, x_in, kernel_in, bias_in);
}

}  // namespace

Tensor depthwise_conv2d(const Tensor& x, const Tensor& kernel, const Tensor& bias, const Conv2dOptions& o) {
  detail::require_rank4(x, "depthwise_conv2d");
  if (kernel.dim() != 4)
    throw ShapeError(fmt::format("depthwise_conv2d: the kernel must be [kh, kw, in, multiplier], got shape {}",
                                 to_string(kernel.shape())));
  const detail::Dims d = detail::dims_of(x, o.channels_first);
  const Shape& ks = kernel.shape();
  if (ks[2] != d.c)
    throw ShapeError(fmt::format("depthwise_conv2d: input has {} channels (shape {}) but the kernel expects {} "
                                 "(kernel shape {})",
                                 d.c, to_string(x.shape()), ks[2], to_string(ks)));
  if (bias.defined() && bias.shape() != Shape{ks[2] * ks[3]})
    throw ShapeError(fmt::format("depthwise_conv2d: bias shape {} does not match {} channels x multiplier {}",
                                 to_string(bias.shape()), ks[2], ks[3]));
  Tensor y = o.channels_first
                 ? permute(depthwise_conv2d_nhwc(permute(x, {0, 2, 3, 1}), kernel, bias, o), {0, 3, 1, 2})
                 : depthwise_conv2d_nhwc(x, kernel, bias, o);
  return o.relu ? relu(y) : y;
}

}  // namespace keel::ops
