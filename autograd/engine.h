#pragma once
// Reverse-mode differentiation over the tape.
#include <vector>

#include "keel/core/tensor.h"

namespace keel {

bool requires_grad(const Tensor& t);
// Marks a tensor as a leaf that accumulates a gradient (in place); returns it for chaining.
Tensor& set_requires_grad(Tensor& t, bool value = true);
Tensor set_requires_grad(Tensor&& t, bool value = true);
// The gradient accumulated into a leaf by backward(); undefined until a gradient reaches it.
Tensor grad(const Tensor& t);
void zero_grad(const Tensor& t);
// Same values, cut from the tape.
Tensor detach(const Tensor& t);

struct BackwardOptions {
  bool retain_graph = false;
};

// Walks the graph behind `root` once in reverse topological order and accumulates into the
// leaves' grad. `root` must be a scalar unless `seed` (its upstream gradient) is given. The graph
// is freed afterwards unless retain_graph; a second backward through a freed graph is a UsageError.
void backward(const Tensor& root, const Tensor& seed = Tensor(), BackwardOptions options = {});

// The gradients of `root` with respect to `inputs` (which must require grad), without touching
// any .grad. An input the graph does not reach gets an undefined tensor.
std::vector<Tensor> gradients(const Tensor& root, const std::vector<Tensor>& inputs, const Tensor& seed = Tensor(),
                              BackwardOptions options = {});

}  // namespace keel
