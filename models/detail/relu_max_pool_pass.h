#pragma once
// A graph pass: Activation("relu") followed by MaxPooling2D runs as the pooling first, then the ReLU on
// the pooled tensor (a quarter the size for 2x2 windows). max(relu(a), relu(b)) == relu(max(a, b)) bit
// for bit, NaN and signed zeros included, and the gradients reach the same inputs, so nothing a user sees
// changes. It applies to Sequential and functional models alike (Sequential runs as a graph).
#include <cstddef>
#include <vector>

#include "keel/models/detail/graph_step.h"

namespace keel::models::detail {

// Rewrites each qualifying pair in place: the pooling step reads the ReLU's input and applies the ReLU
// after itself, and the ReLU's own step is removed. A pair qualifies when both are exactly keel's classes
// (a subclass may do more in call()), the ReLU is the built-in one, the pooling is the only reader of the
// ReLU's output, and that output is not one of `model_outputs`. A ReLU that reads a model input is left
// alone: it may receive a mask. Run before last_uses are computed.
void reorder_relu_before_max_pool(std::vector<GraphStep>& steps, const std::vector<std::size_t>& model_outputs);

}  // namespace keel::models::detail
