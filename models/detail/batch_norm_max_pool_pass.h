#pragma once
// A graph pass: BatchNormalization followed by MaxPooling2D (a ReLU between them already moved after the
// pooling by relu_max_pool_pass.h) runs as one step, layers::batch_norm_then_max_pool, which in inference
// reads the normalization's input once and writes only the pooled tensor, bit for bit the two calls; in
// training, or whenever the fused kernel does not apply, it makes the two calls. Nothing a user sees
// changes. It applies to Sequential and functional models alike.
#include <cstddef>
#include <vector>

#include "keel/models/detail/graph_step.h"

namespace keel::models::detail {

// Rewrites each qualifying pair in place: the pooling step reads the normalization's input and runs it
// first (GraphStep::before), and the normalization's own step is removed. A pair qualifies when both are
// exactly keel's classes (a subclass may do more in call()), each takes one tensor, the pooling is the
// only reader of the normalization's output and that output is not one of `model_outputs`. A normalization
// that reads a model input is left alone: it may receive a mask. Run after reorder_relu_before_max_pool and
// before last_uses are computed.
void fold_batch_norm_into_max_pool(std::vector<GraphStep>& steps, const std::vector<std::size_t>& model_outputs);

}  // namespace keel::models::detail
