#pragma once
// The tape: one Node per differentiable op, holding its backward function and the autograd slots
// of its inputs. A tensor that needs a gradient carries an AutogradMeta; non-leaf tensors point
// at the Node that made them.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "keel/core/tensor.h"

namespace keel {

struct Node;

struct AutogradMeta {
  bool requires_grad = false;
  Tensor grad;                    // accumulated by backward() for leaves
  std::shared_ptr<Node> grad_fn;  // null for leaves
};

// Maps the gradient of an op's output to one gradient per input (undefined where none flows).
using BackwardFn = std::function<std::vector<Tensor>(const Tensor& grad_output)>;

struct Node {
  std::string name;
  BackwardFn backward;
  std::vector<std::shared_ptr<AutogradMeta>> inputs;  // null where the input needs no gradient
  std::vector<Shape> input_shapes;
  // Storage versions of the tensors backward reads, captured when the op ran.
  std::vector<std::pair<std::shared_ptr<Storage>, std::uint64_t>> saved_versions;
  std::uint64_t sequence = 0;  // creation order
  bool released = false;
};

}  // namespace keel
