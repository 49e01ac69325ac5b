#pragma once
// BatchNormalization in inference followed by 2x2 max pooling, channels last, as one pass: each window's
// four values are normalized as batch_norm_inference normalizes them (the same T parameters and the same
// operations, so the same bits), then combined by max pooling's rule (max_rule.h). x is read once and only
// the pooled tensor is written, where the two passes write and read back a tensor as large as x.
#include <cstdint>

#include "keel/core/kernels/pooling.h"

namespace keel::kernels {

// g: NHWC with max_pool2d_is_2x2(g) (else UsageError); gamma and beta may be nullptr; eps as
// batch_norm_inference's. Overwrites y ([N, out_h, out_w, C]).
template <class T>
void batch_norm_inference_max_pool_2x2(const Pool2dGeometry& g, const T* x, const T* gamma, const T* beta,
                                       const T* moving_mean, const T* moving_var, double eps, T* y);

}  // namespace keel::kernels
