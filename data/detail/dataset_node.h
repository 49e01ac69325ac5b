#pragma once
// The pieces a Dataset is built from: a DatasetNode describes one stage of the pipeline and opens
// ElementStreams, one per pass.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

#include "keel/data/dataset.h"

namespace keel::data::detail {

class ElementStream {
 public:
  virtual ~ElementStream() = default;
  // The next element, or nothing at the end of the pass.
  virtual std::optional<Element> next() = 0;
};

class DatasetNode {
 public:
  virtual ~DatasetNode() = default;
  virtual std::unique_ptr<ElementStream> open() const = 0;
  virtual std::int64_t cardinality() const = 0;
};

using NodePtr = std::shared_ptr<const DatasetNode>;

NodePtr tensors_node(Element tensors);
NodePtr tensor_slices_node(Element tensors);
NodePtr batch_node(NodePtr input, std::int64_t batch_size, bool drop_remainder);
NodePtr shuffle_node(NodePtr input, std::int64_t buffer_size, std::uint64_t seed, bool reshuffle_each_iteration);
NodePtr map_node(NodePtr input, std::function<Element(Element)> fn, int num_parallel_calls);
NodePtr prefetch_node(NodePtr input, std::int64_t buffer_size);
NodePtr take_node(NodePtr input, std::int64_t count);
NodePtr skip_node(NodePtr input, std::int64_t count);
NodePtr repeat_node(NodePtr input, std::int64_t count);
NodePtr cache_node(NodePtr input);

// Stacks the elements of one batch along a new first axis (what batch() yields).
Element stack_elements(const std::vector<Element>& samples);

}  // namespace keel::data::detail
