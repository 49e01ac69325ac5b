#include "keel/data/detail/dataset_node.h"

#include "keel/core/error.h"

namespace keel::data::detail {

std::unique_ptr<ElementStream> DatasetNode::open_needed(const NeededPositions&) const { return open(); }

std::unique_ptr<ElementStream> DatasetNode::open_shard(int, int) const {
  throw UsageError("Dataset: a sharded pass needs a dataset that ends in batch() (internal error)");
}

}  // namespace keel::data::detail
