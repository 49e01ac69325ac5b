#include "keel/models/detail/batch_norm_max_pool_pass.h"

#include <typeinfo>

#include "keel/layers/batch_normalization.h"
#include "keel/layers/pooling2d.h"
#include "keel/models/detail/graph_pass.h"

namespace keel::models::detail {

void fold_batch_norm_into_max_pool(std::vector<GraphStep>& steps, const std::vector<std::size_t>& model_outputs) {
  fold_pairs(
      steps, model_outputs,
      [](const GraphStep& bn, const GraphStep& pool) {
        const layers::Layer& first = *bn.node->layer;
        const layers::Layer& second = *pool.node->layer;
        return typeid(first) == typeid(layers::BatchNormalizationLayer) && bn.inputs.size() == 1 && !bn.then &&
               !bn.before && !bn.reads_model_input && typeid(second) == typeid(layers::MaxPooling2DLayer) &&
               pool.inputs.size() == 1 && !pool.before;
      },
      [](const GraphStep& bn, GraphStep& pool) {
        pool.inputs = bn.inputs;
        pool.before = bn.node;
      });
}

}  // namespace keel::models::detail
