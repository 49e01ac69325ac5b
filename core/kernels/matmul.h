#pragma once
#include "keel/core/tensor.h"

namespace keel::kernels {

// a [..., m, k] @ b [..., k, n] -> [..., m, n]. Batch axes broadcast (NumPy matmul rules); rank-1
// operands are not accepted (use a [1, k] or [k, 1] matrix). Transposed views go to BLAS as
// transposes, without copies.
Tensor matmul(const Tensor& a, const Tensor& b);

}  // namespace keel::kernels
