#include "keel/models/detail/batch_rows.h"

#include "keel/autograd/grad_mode.h"
#include "keel/autograd/ops.h"

namespace keel::models::detail {

Tensor rows(const Tensor& t, std::int64_t begin, std::int64_t end) {
  return t.defined() ? t.narrow(0, begin, end - begin) : t;
}

Tensor rows_at(const Tensor& t, const Tensor& indices) {
  if (!t.defined()) return t;
  NoGrad no_grad;
  return ops::take_rows(t, indices);
}

}  // namespace keel::models::detail
