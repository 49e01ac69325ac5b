#pragma once
// Activations by Keras name (docs/semantics.md §7). An Activation is a named differentiable function;
// it serializes to its name.
#include <functional>
#include <string>

#include "keel/core/tensor.h"

namespace keel {

class Activation {
 public:
  Activation();  // linear
  Activation(const char* name);
  Activation(const std::string& name);
  // A custom function with a name of its own (serializes to that name; rebuilding it needs
  // activations::register_activation).
  Activation(std::string name, std::function<Tensor(const Tensor&)> fn);

  Tensor operator()(const Tensor& x) const { return fn_(x); }
  const std::string& name() const { return name_; }
  bool is_linear() const { return name_ == "linear"; }
  // keel's own ReLU: named "relu" with no custom function and no registered override.
  bool is_builtin_relu() const { return builtin_relu_; }

 private:
  std::string name_;
  std::function<Tensor(const Tensor&)> fn_;
  bool builtin_relu_ = false;
};

namespace activations {
// Adds a user activation to the names Activation(name) resolves.
void register_activation(const std::string& name, std::function<Tensor(const Tensor&)> fn);
}  // namespace activations

}  // namespace keel
