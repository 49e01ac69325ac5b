#include "keel/autograd/variable.h"

#include <fmt/format.h>

#include "keel/autograd/autocast.h"
#include "keel/autograd/engine.h"
#include "keel/autograd/grad_mode.h"
#include "keel/core/error.h"

namespace keel {

struct Variable::Impl {
  std::string name;
  Tensor value;
  bool trainable;
  RegularizerFn regularizer;
  ConstraintFn constraint;
  bool autocast;
};

Variable::Variable(std::string name, const Tensor& initial_value, bool trainable, RegularizerFn regularizer,
                   ConstraintFn constraint, bool autocast) {
  if (!initial_value.defined()) throw ValueError(fmt::format("Variable '{}': the initial value is undefined", name));
  Tensor value = initial_value.clone();
  if (trainable) set_requires_grad(value);
  impl_ = std::make_shared<Impl>(Impl{std::move(name), value, trainable, std::move(regularizer), std::move(constraint),
                                       autocast});
}

const std::string& Variable::name() const { return impl_->name; }
const Tensor& Variable::value() const {
  return impl_->autocast ? AutocastScope::read(impl_.get(), impl_->value) : impl_->value;
}
bool Variable::autocast() const { return impl_->autocast; }
bool Variable::trainable() const { return impl_->trainable; }
Tensor Variable::grad() const { return keel::grad(impl_->value); }
void Variable::zero_grad() const { keel::zero_grad(impl_->value); }

void Variable::assign(const Tensor& new_value) const {
  if (new_value.shape() != impl_->value.shape())
    throw ShapeError(fmt::format("Variable '{}': cannot assign a value of shape {} to a variable of shape {}", impl_->name,
                                 to_string(new_value.shape()), to_string(impl_->value.shape())));
  impl_->value.copy_from(new_value);
}

const RegularizerFn& Variable::regularizer() const { return impl_->regularizer; }
const ConstraintFn& Variable::constraint() const { return impl_->constraint; }

void Variable::apply_constraint() const {
  if (!impl_->constraint) return;
  NoGrad no_grad;
  assign(impl_->constraint(impl_->value));
}

}  // namespace keel
