#include "keel/layers/symbolic_tensor.h"

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

SymbolicTensor SymbolicTensor::produced_by(std::shared_ptr<layers::Node> node, Tensor sample) {
  Shape shape = sample.shape();
  if (!shape.empty()) shape[0] = -1;
  SymbolicTensor t;
  t.data_ = std::make_shared<const Data>(Data{std::move(shape), std::move(sample), std::move(node)});
  return t;
}

}  // namespace keel
