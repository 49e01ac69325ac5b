#include "keel/layers/batch_norm_max_pool.h"

#include "keel/autograd/grad_mode.h"
#include "keel/core/dispatch.h"
#include "keel/core/kernels/batch_norm_max_pool.h"
#include "keel/core/profiler.h"

namespace keel::layers {
namespace {

template <class T>
T* data_or_null(const Variable& v) {
  return v.defined() ? v.value().data<T>() : nullptr;
}

// A parameter the fused kernel can read as it is: absent, or [channels] contiguous in x's dtype.
bool plain_parameter(const Variable& v, const Tensor& x, bool required) {
  if (!v.defined()) return !required;
  const Tensor& t = v.value();
  return t.dtype() == x.dtype() && t.dim() == 1 && t.shape()[0] == x.shape()[3] && t.is_contiguous();
}

}  // namespace

bool batch_norm_max_pool_fuses(const BatchNormalizationLayer& bn, const CallContext& bn_ctx,
                               const MaxPooling2DLayer& pool, const CallContext& pool_ctx, const Tensor& x) {
  if (grad_enabled() || bn_ctx.training || pool_ctx.training || bn_ctx.mask.defined()) return false;
  if (!x.defined() || x.dim() != 4 || x.numel() == 0 || !is_floating(x.dtype()) || x.dtype() != bn.dtype() ||
      x.dtype() != pool.dtype() || !bn.built() || !pool.built())
    return false;
  // The two layers' calls round to bfloat16 between them; the fused pass would not.
  if (bn.dtype_policy().computes_in_bfloat16() || pool.dtype_policy().computes_in_bfloat16()) return false;
  const Shape& built = bn.built_input_shape();
  const std::vector<std::int64_t> axis = bn.options().axis;
  if (built.size() != 4 || built[3] != x.shape()[3] || axis.size() != 1 || (axis[0] != -1 && axis[0] != 3))
    return false;
  if (!plain_parameter(bn.moving_mean(), x, true) || !plain_parameter(bn.moving_variance(), x, true) ||
      !plain_parameter(bn.gamma(), x, false) || !plain_parameter(bn.beta(), x, false))
    return false;
  const Pooling2DOptions& o = pool.options();
  return o.pool_size == Size2(2) && o.strides.value_or(o.pool_size) == Size2(2) && o.padding == "valid" &&
         o.data_format == "channels_last" && x.shape()[1] >= 2 && x.shape()[2] >= 2;
}

Tensor batch_norm_then_max_pool(BatchNormalizationLayer& bn, const CallContext& bn_ctx, MaxPooling2DLayer& pool,
                                const CallContext& pool_ctx, const Tensor& x) {
  if (!batch_norm_max_pool_fuses(bn, bn_ctx, pool, pool_ctx, x)) return pool(bn(x, bn_ctx), pool_ctx);
  profile::Scope scope("BatchNormalization+MaxPooling2D", " forward");
  const Tensor input = x.contiguous();
  const Shape& s = input.shape();
  const auto g = kernels::pool2d_geometry(kernels::Layout::NHWC, s[0], s[1], s[2], s[3], 2, 2, 2, 2, false);
  Tensor y = Tensor::empty({s[0], g.out_h, g.out_w, s[3]}, input.dtype());
  keel::detail::dispatch_float(input.dtype(), "BatchNormalization", [&](auto tag) {
    using T = decltype(tag);
    kernels::batch_norm_inference_max_pool_2x2<T>(g, input.data<T>(), data_or_null<T>(bn.gamma()),
                                                  data_or_null<T>(bn.beta()), data_or_null<T>(bn.moving_mean()),
                                                  data_or_null<T>(bn.moving_variance()), bn.options().epsilon,
                                                  y.data<T>());
  });
  return y;
}

}  // namespace keel::layers
