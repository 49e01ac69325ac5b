#pragma once
// Internal to autograd/ops: what the convolution and pooling ops share about rank-4 image batches.
#include <cstdint>
#include <vector>

#include "keel/core/shape.h"
#include "keel/core/tensor.h"

namespace keel::ops::detail {

// ShapeError naming `op` unless x is rank 4.
void require_rank4(const Tensor& x, const char* op);

struct Dims {
  std::int64_t n, h, w, c;
};
Dims dims_of(const Tensor& x, bool channels_first);

Shape output_shape(std::int64_t n, std::int64_t h, std::int64_t w, std::int64_t c, bool channels_first);

// A batch without samples (a data-parallel replica whose share of the global batch is empty; TF and
// PyTorch accept it too): an empty output, and zero gradients for every input. The caller checks the
// geometry on one sample first.
Tensor empty_batch_op(const char* op, const Shape& out_shape, DType dtype, const std::vector<Tensor>& inputs);

}  // namespace keel::ops::detail
