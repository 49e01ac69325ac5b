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

// The element positions (0, 1, ... in a pass) whose elements a consumer will use.
using NeededPositions = std::function<bool(std::int64_t position)>;

// How a batch() cuts its input: batch k holds rows_of_batch(k) consecutive input elements.
struct BatchLayout {
  std::int64_t batch_size = 0;
  std::int64_t input_cardinality = 0;  // finite or kInfiniteCardinality, never unknown
  bool drop_remainder = false;
  std::int64_t rows_of_batch(std::int64_t k) const;
};

class DatasetNode {
 public:
  virtual ~DatasetNode() = default;
  virtual std::unique_ptr<ElementStream> open() const = 0;
  virtual std::int64_t cardinality() const = 0;

  // A pass whose consumer uses only the positions `needed` accepts: a node that can save work there
  // (map) passes the other positions through unmapped (their values are never read). By default a full pass.
  virtual std::unique_ptr<ElementStream> open_needed(const NeededPositions& needed) const;
  // The layout of the batch() whose batches this node's elements are, one to one (batch itself, and
  // prefetch over it); nothing when there is none or its input's length is unknown.
  virtual std::optional<BatchLayout> batch_layout() const { return std::nullopt; }
  // A pass of only rows share_of(rows, num_shards, index) of each batch, the other rows not computed
  // where the stages below allow (open_needed). Only for a node with a batch_layout().
  virtual std::unique_ptr<ElementStream> open_shard(int num_shards, int index) const;
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
