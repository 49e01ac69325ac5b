#include "keel/autograd/engine.h"

#include <fmt/format.h>

#include <unordered_map>
#include <unordered_set>

#include "keel/autograd/grad_mode.h"
#include "keel/autograd/node.h"
#include "keel/core/error.h"
#include "keel/core/kernels/elementwise.h"
#include "keel/core/kernels/reduce.h"
#include "keel/core/profiler.h"

namespace keel {
namespace {

// Sums a gradient computed for a broadcast result back to the operand's shape.
Tensor sum_to(const Tensor& g, const Shape& shape, const std::string& op) {
  if (g.shape() == shape) return g;
  const std::int64_t lead = g.dim() - static_cast<std::int64_t>(shape.size());
  if (lead < 0)
    throw Error(fmt::format("backward of '{}': gradient shape {} has lower rank than input shape {}", op,
                            to_string(g.shape()), to_string(shape)));
  std::vector<std::int64_t> axes;
  for (std::int64_t i = 0; i < g.dim(); ++i) {
    if (i < lead) {
      axes.push_back(i);
    } else if (shape[i - lead] == 1 && g.shape()[i] != 1) {
      axes.push_back(i);
    } else if (shape[i - lead] != g.shape()[i]) {
      throw Error(fmt::format("backward of '{}': gradient shape {} does not broadcast from input shape {}", op,
                              to_string(g.shape()), to_string(shape)));
    }
  }
  return kernels::reduce(kernels::ReduceOp::sum, g, axes, true).reshape(shape);
}

Tensor accumulate(const Tensor& existing, const Tensor& g) {
  if (!existing.defined()) return g;
  return kernels::binary(kernels::BinaryOp::add, existing, g);
}

// Nodes reachable from root, ordered so each node comes before the nodes it feeds gradients to.
std::vector<Node*> reverse_topological_order(Node* root) {
  std::vector<Node*> post;
  std::unordered_set<Node*> visited;
  std::vector<std::pair<Node*, std::size_t>> stack{{root, 0}};
  visited.insert(root);
  while (!stack.empty()) {
    auto& [node, next] = stack.back();
    if (next < node->inputs.size()) {
      const auto& meta = node->inputs[next++];
      if (meta && meta->grad_fn && visited.insert(meta->grad_fn.get()).second) stack.emplace_back(meta->grad_fn.get(), 0);
    } else {
      post.push_back(node);
      stack.pop_back();
    }
  }
  return {post.rbegin(), post.rend()};
}

// Runs the backward sweep. With `captured`, leaf gradients go there instead of into .grad.
void run_backward(const Tensor& root, const Tensor& seed_in, BackwardOptions options,
                  std::unordered_map<AutogradMeta*, Tensor>* captured) {
  if (!requires_grad(root))
    throw UsageError("backward: the tensor does not require grad and has no grad_fn (nothing to differentiate)");
  Tensor seed = seed_in;
  if (!seed.defined()) {
    if (root.numel() != 1)
      throw UsageError(fmt::format("backward: a non-scalar root of shape {} needs an explicit seed gradient",
                                   to_string(root.shape())));
    seed = Tensor::ones(root.shape(), root.dtype());
  } else if (seed.shape() != root.shape()) {
    throw ShapeError(fmt::format("backward: seed shape {} differs from root shape {}", to_string(seed.shape()),
                                 to_string(root.shape())));
  }
  NoGrad no_grad;
  auto deliver_to_leaf = [&](AutogradMeta* meta, const Tensor& g) {
    if (captured) {
      auto it = captured->find(meta);
      if (it != captured->end()) it->second = accumulate(it->second, g);
    } else {
      meta->grad = accumulate(meta->grad, g);
    }
  };
  const auto& root_meta = root.autograd_meta();
  if (!root_meta->grad_fn) {
    deliver_to_leaf(root_meta.get(), seed);
    return;
  }
  // Validate the whole graph first, so a refused backward leaves it intact.
  std::vector<Node*> order = reverse_topological_order(root_meta->grad_fn.get());
  for (Node* node : order) {
    if (node->released)
      throw UsageError(fmt::format("backward: trying to backward through the graph a second time ('{}' was freed by "
                                   "the first backward; pass retain_graph = true to keep it)",
                                   node->name));
    for (const auto& [storage, version] : node->saved_versions)
      if (storage->version() != version)
        throw UsageError(fmt::format("backward: a tensor that '{}' saved for its gradient was modified in place "
                                     "after the op ran (version {} -> {})",
                                     node->name, version, storage->version()));
  }
  std::unordered_map<Node*, Tensor> pending{{root_meta->grad_fn.get(), seed}};
  for (Node* node : order) {
    auto it = pending.find(node);
    if (it == pending.end()) continue;  // no gradient reached this node
    Tensor g = std::move(it->second);
    pending.erase(it);
    std::vector<Tensor> input_grads;
    {
      profile::Scope scope(node->name, " backward");
      input_grads = node->backward(g);
    }
    if (input_grads.size() != node->inputs.size())
      throw Error(fmt::format("backward of '{}' returned {} gradients for {} inputs", node->name, input_grads.size(),
                              node->inputs.size()));
    for (std::size_t i = 0; i < node->inputs.size(); ++i) {
      const auto& meta = node->inputs[i];
      if (!meta || !input_grads[i].defined()) continue;
      Tensor gi = sum_to(input_grads[i], node->input_shapes[i], node->name);
      if (meta->grad_fn) {
        Tensor& slot = pending[meta->grad_fn.get()];
        slot = accumulate(slot, gi);
      } else {
        deliver_to_leaf(meta.get(), gi);
      }
    }
    if (!options.retain_graph) {
      node->backward = nullptr;
      node->released = true;
    }
  }
}

}  // namespace

bool requires_grad(const Tensor& t) { return t.autograd_meta() && t.autograd_meta()->requires_grad; }

Tensor& set_requires_grad(Tensor& t, bool value) {
  if (value && !is_floating(t.dtype()))
    throw ValueError(fmt::format("set_requires_grad: only float tensors can require grad, got {}", dtype_name(t.dtype())));
  if (t.autograd_meta() && t.autograd_meta()->grad_fn)
    throw UsageError(fmt::format("set_requires_grad: the tensor is the output of '{}', not a leaf; detach() it first",
                                 t.autograd_meta()->grad_fn->name));
  if (!t.autograd_meta()) t.set_autograd_meta(std::make_shared<AutogradMeta>());
  t.autograd_meta()->requires_grad = value;
  return t;
}

Tensor set_requires_grad(Tensor&& t, bool value) {
  Tensor out = std::move(t);
  set_requires_grad(out, value);
  return out;
}

Tensor grad(const Tensor& t) { return t.autograd_meta() ? t.autograd_meta()->grad : Tensor(); }

void zero_grad(const Tensor& t) {
  if (t.autograd_meta()) t.autograd_meta()->grad = Tensor();
}

Tensor detach(const Tensor& t) {
  Tensor out = t;
  out.set_autograd_meta(nullptr);
  return out;
}

void backward(const Tensor& root, const Tensor& seed, BackwardOptions options) {
  run_backward(root, seed, options, nullptr);
}

std::vector<Tensor> gradients(const Tensor& root, const std::vector<Tensor>& inputs, const Tensor& seed,
                              BackwardOptions options) {
  std::unordered_map<AutogradMeta*, Tensor> captured;
  for (const Tensor& t : inputs) {
    if (!requires_grad(t)) throw UsageError("gradients: every input must require grad");
    if (t.autograd_meta()->grad_fn)
      throw UsageError(fmt::format("gradients: inputs must be leaves; got the output of '{}'",
                                   t.autograd_meta()->grad_fn->name));
    captured.emplace(t.autograd_meta().get(), Tensor());
  }
  run_backward(root, seed, options, &captured);
  std::vector<Tensor> out;
  for (const Tensor& t : inputs) out.push_back(captured[t.autograd_meta().get()]);
  return out;
}

}  // namespace keel
