#include "keel/autograd/ops.h"
#include "keel/autograd/record.h"
#include "keel/core/kernels/matmul.h"

namespace keel::ops {

Tensor matmul(const Tensor& a, const Tensor& b) {
  return record("matmul", kernels::matmul(a, b), {a, b}, [a, b](const Tensor& g) {
    // dA = g · Bᵀ, dB = Aᵀ · g; transposed views go to BLAS without copies. A 2-D operand used
    // across a batch gets a batched gradient that the engine sums back to its shape.
    return Grads{kernels::matmul(g, b.transpose(-1, -2)), kernels::matmul(a.transpose(-1, -2), g)};
  }, {a, b});
}

}  // namespace keel::ops
