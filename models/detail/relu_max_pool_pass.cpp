#include "keel/models/detail/relu_max_pool_pass.h"

#include <typeinfo>

#include "keel/layers/activation_layer.h"
#include "keel/layers/pooling2d.h"
#include "keel/models/detail/graph_pass.h"

namespace keel::models::detail {
namespace {

bool is_builtin_relu(const GraphStep& step) {
  const layers::Layer& layer = *step.node->layer;
  return typeid(layer) == typeid(layers::ActivationLayer) && step.inputs.size() == 1 && !step.then &&
         !step.reads_model_input &&
         static_cast<const layers::ActivationLayer&>(layer).options().activation.is_builtin_relu();
}

bool is_max_pool(const GraphStep& step) {
  const layers::Layer& layer = *step.node->layer;
  return typeid(layer) == typeid(layers::MaxPooling2DLayer) && step.inputs.size() == 1 && !step.then;
}

}  // namespace

void reorder_relu_before_max_pool(std::vector<GraphStep>& steps, const std::vector<std::size_t>& model_outputs) {
  fold_pairs(
      steps, model_outputs,
      [](const GraphStep& relu, const GraphStep& pool) {
        return is_builtin_relu(relu) && is_max_pool(pool) && !pool.before;
      },
      [](const GraphStep& relu, GraphStep& pool) {
        pool.inputs = relu.inputs;
        pool.then = relu.node->layer;
      });
}

}  // namespace keel::models::detail
