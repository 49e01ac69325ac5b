#include "keel/core/kernels/matmul.h"

#include <fmt/format.h>

#include "keel/core/dispatch.h"
#include "keel/core/error.h"
#include "keel/core/kernels/gemm.h"

namespace keel::kernels {
namespace {

// A matrix (the last two axes) BLAS can read in place: row-major, or transposed row-major.
struct BlasOperand {
  Tensor tensor;  // the batch-flattened operand, [batch, rows, cols] as stored
  bool trans = false;
  std::int64_t ld = 0;
};

BlasOperand as_blas_operand(const Tensor& t) {
  const std::int64_t r = t.dim();
  const std::int64_t rows = t.shape()[r - 2], cols = t.shape()[r - 1];
  const std::int64_t rs = t.strides()[r - 2], cs = t.strides()[r - 1];
  // The batch axes must be laid out densely for a fixed per-matrix stride.
  Tensor batch_part = t;
  bool batch_dense = true;
  std::int64_t expected = rows * cols;
  for (std::int64_t i = r - 3; i >= 0; --i) {
    if (t.shape()[i] != 1 && t.strides()[i] != expected) batch_dense = false;
    expected *= t.shape()[i];
  }
  if (batch_dense && (cs == 1 || cols == 1) && rs >= std::max<std::int64_t>(cols, 1)) return {t, false, std::max<std::int64_t>(rs, 1)};
  if (batch_dense && (rs == 1 || rows == 1) && cs >= std::max<std::int64_t>(rows, 1)) return {t, true, std::max<std::int64_t>(cs, 1)};
  Tensor c = t.contiguous();
  return {c, false, std::max<std::int64_t>(cols, 1)};
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  if (a.dim() < 2 || b.dim() < 2)
    throw ShapeError(fmt::format("matmul: operands need rank >= 2, got shapes {} and {}", to_string(a.shape()),
                                 to_string(b.shape())));
  if (a.dtype() != b.dtype())
    throw ValueError(fmt::format("matmul: operands have different dtypes ({} and {})", dtype_name(a.dtype()),
                                 dtype_name(b.dtype())));
  const std::int64_t m = a.shape()[a.dim() - 2], k = a.shape()[a.dim() - 1];
  const std::int64_t k2 = b.shape()[b.dim() - 2], n = b.shape()[b.dim() - 1];
  if (k != k2)
    throw ShapeError(fmt::format("matmul: inner dimensions differ: {} has {} columns, {} has {} rows",
                                 to_string(a.shape()), k, to_string(b.shape()), k2));
  Shape batch_a(a.shape().begin(), a.shape().end() - 2), batch_b(b.shape().begin(), b.shape().end() - 2);
  Shape batch = broadcast_shapes(batch_a, batch_b, "matmul");
  Shape out_shape = batch;
  out_shape.push_back(m);
  out_shape.push_back(n);

  Shape a_full = batch, b_full = batch;
  a_full.insert(a_full.end(), {m, k});
  b_full.insert(b_full.end(), {k, n});
  std::int64_t count = checked_numel(batch, "matmul");
  // A 2-D operand shared by every batch item keeps stride 0 instead of being copied.
  Tensor ea = a.dim() == 2 ? a : a.expand(a_full);
  Tensor eb = b.dim() == 2 ? b : b.expand(b_full);
  if (ea.dim() > 2 && batch_a != batch) ea = ea.contiguous();
  if (eb.dim() > 2 && batch_b != batch) eb = eb.contiguous();
  BlasOperand oa = as_blas_operand(ea), ob = as_blas_operand(eb);
  std::int64_t stride_a = oa.tensor.dim() == 2 ? 0 : m * k;
  std::int64_t stride_b = ob.tensor.dim() == 2 ? 0 : k * n;

  Tensor out = Tensor::empty(out_shape, a.dtype());
  keel::detail::dispatch_float(a.dtype(), "matmul", [&](auto tag) {
    using T = decltype(tag);
    if (count == 1) {
      gemm<T>(oa.trans, ob.trans, m, n, k, T(1), oa.tensor.template data<T>(), oa.ld, ob.tensor.template data<T>(), ob.ld,
              T(0), out.data<T>(), n);
    } else {
      gemm_batched<T>(count, oa.trans, ob.trans, m, n, k, T(1), oa.tensor.template data<T>(), oa.ld, stride_a,
                      ob.tensor.template data<T>(), ob.ld, stride_b, T(0), out.data<T>(), n, m * n);
    }
  });
  return out;
}

}  // namespace keel::kernels
