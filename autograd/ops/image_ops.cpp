#include "keel/autograd/detail/image_ops.h"

#include <fmt/format.h>

#include "keel/autograd/record.h"
#include "keel/core/error.h"

namespace keel::ops::detail {

void require_rank4(const Tensor& x, const char* op) {
  if (x.dim() != 4)
    throw ShapeError(fmt::format("{}: expected a rank-4 input ({}), got shape {}", op, "[batch, height, width, channels]",
                                 to_string(x.shape())));
}

Dims dims_of(const Tensor& x, bool channels_first) {
  const Shape& s = x.shape();
  return channels_first ? Dims{s[0], s[2], s[3], s[1]} : Dims{s[0], s[1], s[2], s[3]};
}

Shape output_shape(std::int64_t n, std::int64_t h, std::int64_t w, std::int64_t c, bool channels_first) {
  return channels_first ? Shape{n, c, h, w} : Shape{n, h, w, c};
}

Tensor empty_batch_op(const char* op, const Shape& out_shape, DType dtype, const std::vector<Tensor>& inputs) {
  std::vector<Tensor> zero_grads;  // zeros shaped like each defined input (the batch input holds nothing)
  for (const Tensor& t : inputs) zero_grads.push_back(t.defined() ? Tensor::zeros(t.shape(), t.dtype()) : Tensor());
  return record(op, Tensor::empty(out_shape, dtype), inputs, [zero_grads](const Tensor&) {
    Grads grads;
    for (const Tensor& z : zero_grads) grads.push_back(z.defined() ? z.clone() : Tensor());
    return grads;
  });
}

}  // namespace keel::ops::detail
