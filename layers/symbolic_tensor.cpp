#include "keel/layers/symbolic_tensor.h"

#include <fmt/format.h>

#include "keel/core/error.h"

namespace keel {
namespace {

const SymbolicTensor& require_defined(const SymbolicTensor& t) {
  if (!t.defined()) throw UsageError("SymbolicTensor: the tensor is undefined (default-constructed)");
  return t;
}

}  // namespace

const Shape& SymbolicTensor::shape() const { return require_defined(*this).data_->shape; }
DType SymbolicTensor::dtype() const { return require_defined(*this).data_->sample.dtype(); }
const std::shared_ptr<layers::Node>& SymbolicTensor::node() const { return require_defined(*this).data_->node; }
const Tensor& SymbolicTensor::sample() const { return require_defined(*this).data_->sample; }
const Tensor& SymbolicTensor::probe() const { return require_defined(*this).data_->probe; }

SymbolicTensor SymbolicTensor::produced_by(std::shared_ptr<layers::Node> node, Tensor sample, Tensor probe) {
  Shape shape = sample.shape();
  if (!shape.empty()) shape[0] = -1;
  bool free = false;
  if (probe.defined()) {
    if (probe.dim() != sample.dim())
      throw ValueError(fmt::format("SymbolicTensor: a layer gave outputs of shapes {} and {} for inputs that differ "
                                   "only in their free sizes",
                                   to_string(sample.shape()), to_string(probe.shape())));
    for (std::size_t a = 1; a < shape.size(); ++a)
      if (probe.shape()[a] != sample.shape()[a]) {
        shape[a] = -1;
        free = true;
      }
  }
  if (!free) probe = Tensor();
  SymbolicTensor t;
  t.data_ = std::make_shared<const Data>(Data{std::move(shape), std::move(sample), std::move(probe), std::move(node)});
  return t;
}

}  // namespace keel
