#include <memory>
#include <vector>

#include "keel/autograd/record.h"
#include "keel/core/dispatch.h"
#include "keel/core/kernels/layer_norm.h"
#include "keel/layers/detail/fused_normalization.h"

namespace keel::layers::detail {
namespace {

template <class T>
T* data_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

Tensor contiguous_or_empty(const Tensor& t) { return t.defined() ? t.contiguous() : Tensor(); }

// Per row or per (sample, group), for backward.
struct Statistics {
  std::vector<double> mean, invstd;
  explicit Statistics(std::int64_t n) : mean(static_cast<std::size_t>(n)), invstd(static_cast<std::size_t>(n)) {}
};

template <class T>
Tensor layer_norm_forward(const Tensor& x_in, const Tensor& gamma_in, const Tensor& beta_in, double epsilon) {
  const Tensor x = x_in.contiguous(), gamma = contiguous_or_empty(gamma_in), beta = contiguous_or_empty(beta_in);
  const std::int64_t cols = x.dim() ? x.shape().back() : 1;
  const std::int64_t rows = cols ? x.numel() / cols : 0;
  auto stats = std::make_shared<Statistics>(rows);
  Tensor y = Tensor::empty(x.shape(), x.dtype());
  kernels::layer_norm_forward<T>(rows, cols, x.data<T>(), data_or_null<T>(gamma), data_or_null<T>(beta), epsilon,
                                 y.data<T>(), stats->mean.data(), stats->invstd.data());
  const bool has_beta = beta.defined();
  return record("layer_normalization", y, {x_in, gamma_in, beta_in},
                [x, gamma, has_beta, rows, cols, stats](const Tensor& g_in) {
                  const Tensor g = g_in.contiguous();
                  Tensor gx = Tensor::empty(x.shape(), x.dtype());
                  Tensor gg = gamma.defined() ? Tensor::empty({cols}, x.dtype()) : Tensor();
                  Tensor gb = has_beta ? Tensor::empty({cols}, x.dtype()) : Tensor();
                  kernels::layer_norm_backward<T>(rows, cols, g.data<T>(), x.data<T>(), data_or_null<T>(gamma),
                                                  stats->mean.data(), stats->invstd.data(), gx.data<T>(),
                                                  data_or_null<T>(gg), data_or_null<T>(gb));
                  return Grads{gx, gg, gb};
                },
                {x, gamma});
}

template <class T>
Tensor group_norm_forward(const Tensor& x_in, const kernels::GroupNormLayout& l, const Tensor& gamma_in,
                          const Tensor& beta_in, double epsilon) {
  const Tensor x = x_in.contiguous(), gamma = contiguous_or_empty(gamma_in), beta = contiguous_or_empty(beta_in);
  auto stats = std::make_shared<Statistics>(l.samples * l.groups);
  Tensor y = Tensor::empty(x.shape(), x.dtype());
  kernels::group_norm_forward<T>(l, x.data<T>(), data_or_null<T>(gamma), data_or_null<T>(beta), epsilon, y.data<T>(),
                                 stats->mean.data(), stats->invstd.data());
  const bool has_beta = beta.defined();
  return record("group_normalization", y, {x_in, gamma_in, beta_in},
                [x, l, gamma, has_beta, stats](const Tensor& g_in) {
                  const Tensor g = g_in.contiguous();
                  Tensor gx = Tensor::empty(x.shape(), x.dtype());
                  Tensor gg = gamma.defined() ? Tensor::empty({l.channels}, x.dtype()) : Tensor();
                  Tensor gb = has_beta ? Tensor::empty({l.channels}, x.dtype()) : Tensor();
                  kernels::group_norm_backward<T>(l, g.data<T>(), x.data<T>(), data_or_null<T>(gamma),
                                                  stats->mean.data(), stats->invstd.data(), gx.data<T>(),
                                                  data_or_null<T>(gg), data_or_null<T>(gb));
                  return Grads{gx, gg, gb};
                },
                {x, gamma});
}

}  // namespace

Tensor layer_norm_last_axis(const Tensor& x, const Tensor& gamma, const Tensor& beta, double epsilon) {
  return keel::detail::dispatch_float(x.dtype(), "LayerNormalization", [&](auto tag) {
    return layer_norm_forward<decltype(tag)>(x, gamma, beta, epsilon);
  });
}

Tensor group_norm(const Tensor& x, const kernels::GroupNormLayout& layout, const Tensor& gamma, const Tensor& beta,
                  double epsilon) {
  return keel::detail::dispatch_float(x.dtype(), "GroupNormalization", [&](auto tag) {
    return group_norm_forward<decltype(tag)>(x, layout, gamma, beta, epsilon);
  });
}

}  // namespace keel::layers::detail
