#include <fmt/format.h>

#include "keel/autograd/ops.h"
#include "keel/autograd/record.h"
#include "keel/core/dispatch.h"
#include "keel/core/error.h"
#include "keel/core/kernels/softmax.h"

namespace keel::ops {

Tensor sparse_softmax_cross_entropy(const Tensor& logits, const Tensor& labels) {
  if (logits.dim() != 2)
    throw ShapeError(fmt::format("sparse_softmax_cross_entropy: logits must be [batch, classes], got {}",
                                 to_string(logits.shape())));
  if (labels.dtype() != DType::int64 || labels.dim() != 1 || labels.shape()[0] != logits.shape()[0])
    throw ShapeError(fmt::format("sparse_softmax_cross_entropy: labels must be int64 of shape [{}], got {} of shape {}",
                                 logits.shape()[0], dtype_name(labels.dtype()), to_string(labels.shape())));
  const std::int64_t n = logits.shape()[0], classes = logits.shape()[1];
  Tensor lab = labels.contiguous();
  const std::int64_t* lp = lab.data<std::int64_t>();
  for (std::int64_t i = 0; i < n; ++i)
    if (lp[i] < 0 || lp[i] >= classes)
      throw IndexError(fmt::format("sparse_softmax_cross_entropy: label {} in row {} is outside [0, {})", lp[i], i,
                                   classes));
  Tensor log_probs = kernels::log_softmax(logits);
  Tensor loss = Tensor::empty({n}, logits.dtype());
  keel::detail::dispatch_float(logits.dtype(), "sparse_softmax_cross_entropy", [&](auto tag) {
    using T = decltype(tag);
    const T* lpv = log_probs.data<T>();
    T* out = loss.data<T>();
    for (std::int64_t i = 0; i < n; ++i) out[i] = -lpv[i * classes + lp[i]];
  });
  return record("sparse_softmax_cross_entropy", loss, {logits}, [log_probs, lab](const Tensor& g) {
    // d loss_i / d logits_ij = softmax_ij - [j == label_i], scaled by the upstream g_i.
    const std::int64_t rows = log_probs.shape()[0], cols = log_probs.shape()[1];
    Tensor grad = Tensor::empty(log_probs.shape(), log_probs.dtype());
    Tensor gc = g.contiguous();
    const std::int64_t* l = lab.data<std::int64_t>();
    keel::detail::dispatch_float(log_probs.dtype(), "sparse_softmax_cross_entropy", [&](auto tag) {
      using T = decltype(tag);
      const T* lpv = log_probs.data<T>();
      const T* gv = gc.data<T>();
      T* out = grad.data<T>();
      for (std::int64_t i = 0; i < rows; ++i) {
        for (std::int64_t j = 0; j < cols; ++j) out[i * cols + j] = std::exp(lpv[i * cols + j]) * gv[i];
        out[i * cols + l[i]] -= gv[i];
      }
    });
    return Grads{grad};
  }, {log_probs});
}

}  // namespace keel::ops
