#include "keel/autograd/record.h"

#include <atomic>

#include "keel/autograd/engine.h"
#include "keel/autograd/grad_mode.h"

namespace keel {
namespace {
std::atomic<std::uint64_t> g_sequence{0};
}

Tensor record(const char* name, Tensor output, const std::vector<Tensor>& inputs, BackwardFn backward,
              const std::vector<Tensor>& saved) {
  if (!grad_enabled()) return output;
  bool any = false;
  for (const Tensor& t : inputs) any = any || requires_grad(t);
  if (!any) return output;
  auto node = std::make_shared<Node>();
  node->name = name;
  node->backward = std::move(backward);
  node->sequence = g_sequence.fetch_add(1);
  for (const Tensor& t : inputs) {
    node->inputs.push_back(requires_grad(t) ? t.autograd_meta() : nullptr);
    node->input_shapes.push_back(t.shape());
  }
  for (const Tensor& t : saved)
    if (t.defined()) node->saved_versions.emplace_back(t.storage(), t.storage()->version());
  auto meta = std::make_shared<AutogradMeta>();
  meta->requires_grad = true;
  meta->grad_fn = std::move(node);
  output.set_autograd_meta(std::move(meta));
  return output;
}

Tensor record(const char* name, Tensor output, std::initializer_list<Tensor> inputs, BackwardFn backward,
              std::initializer_list<Tensor> saved) {
  return record(name, std::move(output), std::vector<Tensor>(inputs), std::move(backward), std::vector<Tensor>(saved));
}

}  // namespace keel
