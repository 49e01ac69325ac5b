#include "keel/autograd/ops.h"
#include "keel/autograd/record.h"
#include "keel/core/kernels/elementwise.h"
#include "keel/core/kernels/reduce.h"

namespace keel::ops {

using kernels::ReduceOp;

namespace {

// The shape of x with the reduced axes kept as 1, so a reduced gradient broadcasts back onto x.
Shape kept_shape(const Tensor& x, const std::vector<std::int64_t>& axes, const char* op) {
  return kernels::reduced_shape(x.shape(), kernels::normalize_axes(axes, x.dim(), op), true);
}

std::int64_t reduced_count(const Tensor& x, const std::vector<std::int64_t>& axes, const char* op) {
  std::int64_t n = 1;
  for (int a : kernels::normalize_axes(axes, x.dim(), op)) n *= x.shape()[a];
  return n;
}

Tensor extreme(ReduceOp op, const char* name, const Tensor& x, const std::vector<std::int64_t>& axes, bool keepdims) {
  Tensor y = kernels::reduce(op, x, axes, keepdims);
  Shape kept = kept_shape(x, axes, name);
  return record(name, y, {x}, [x, y, kept](const Tensor& g) {
    Tensor hit = kernels::compare(kernels::CompareOp::eq, x, y.reshape(kept)).to(x.dtype());
    std::vector<std::int64_t> reduced;
    for (std::size_t i = 0; i < kept.size(); ++i)
      if (kept[i] == 1 && x.shape()[i] != 1) reduced.push_back(static_cast<std::int64_t>(i));
    Tensor ties = reduced.empty() ? Tensor::ones({}, x.dtype()) : kernels::reduce(ReduceOp::sum, hit, reduced, true);
    return Grads{g.reshape(kept) * hit / ties};
  }, {x, y});
}

}  // namespace

Tensor sum(const Tensor& x, const std::vector<std::int64_t>& axes, bool keepdims) {
  Shape kept = kept_shape(x, axes, "sum");
  Shape in_shape = x.shape();
  return record("sum", kernels::reduce(ReduceOp::sum, x, axes, keepdims), {x},
                [kept, in_shape](const Tensor& g) { return Grads{g.reshape(kept).expand(in_shape)}; });
}

Tensor mean(const Tensor& x, const std::vector<std::int64_t>& axes, bool keepdims) {
  Shape kept = kept_shape(x, axes, "mean");
  Shape in_shape = x.shape();
  double scale = 1.0 / static_cast<double>(std::max<std::int64_t>(1, reduced_count(x, axes, "mean")));
  return record("mean", kernels::reduce(ReduceOp::mean, x, axes, keepdims), {x}, [kept, in_shape, scale](const Tensor& g) {
    return Grads{(g * scale).reshape(kept).expand(in_shape)};
  });
}

Tensor var(const Tensor& x, const std::vector<std::int64_t>& axes, bool keepdims) {
  return mean(square(x - mean(x, axes, true)), axes, keepdims);
}

Tensor max(const Tensor& x, const std::vector<std::int64_t>& axes, bool keepdims) {
  return extreme(ReduceOp::max, "max", x, axes, keepdims);
}

Tensor min(const Tensor& x, const std::vector<std::int64_t>& axes, bool keepdims) {
  return extreme(ReduceOp::min, "min", x, axes, keepdims);
}

Tensor argmax(const Tensor& x, std::int64_t axis, bool keepdims) { return kernels::argmax(x, axis, keepdims); }

}  // namespace keel::ops
