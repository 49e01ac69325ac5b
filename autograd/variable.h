#pragma once
// A weight: a named leaf tensor with its trainable flag, regularizer and constraint. Copies share
// one variable (like Tensor). Optimizers see Variables only.
#include <functional>
#include <memory>
#include <string>

#include "keel/core/tensor.h"

namespace keel {

// Maps a weight to a scalar penalty (differentiable ops).
using RegularizerFn = std::function<Tensor(const Tensor&)>;
// Maps a weight to its projection (applied after each optimizer update).
using ConstraintFn = std::function<Tensor(const Tensor&)>;

class Variable {
 public:
  Variable() = default;
  // `trainable` is fixed at creation: moving statistics never become trainable.
  // `autocast` lets an AutocastScope round the value a layer's call reads (autograd/autocast.h).
  Variable(std::string name, const Tensor& initial_value, bool trainable, RegularizerFn regularizer = {},
           ConstraintFn constraint = {}, bool autocast = true);

  bool defined() const { return impl_ != nullptr; }
  const std::string& name() const;
  // The leaf tensor; it requires grad when the variable is trainable. Inside an AutocastScope that rounds
  // (a mixed_bfloat16 layer's call), a variable with autocast gives its bfloat16 rounding instead.
  const Tensor& value() const;
  bool autocast() const;
  const Shape& shape() const { return value().shape(); }
  DType dtype() const { return value().dtype(); }
  bool trainable() const;
  Tensor grad() const;
  void zero_grad() const;

  // Overwrites the value in place (same shape; ShapeError naming the variable otherwise). Bumps
  // the storage version, so a pending backward that saved the old value refuses to run.
  void assign(const Tensor& new_value) const;

  const RegularizerFn& regularizer() const;
  const ConstraintFn& constraint() const;
  // Applies the constraint (if any) in place.
  void apply_constraint() const;

  bool same_as(const Variable& other) const { return impl_ == other.impl_; }

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace keel
