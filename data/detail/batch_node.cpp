// Dataset.batch: consecutive elements stacked along a new first axis. A sharded pass (open_shard) keeps
// only one shard's rows of each batch and tells the stages below which elements it will not use, so a
// map() below does not decode them (docs/data.md#training-on-several-replicas).
#include <algorithm>

#include "keel/core/strategy.h"
#include "keel/data/detail/dataset_node.h"

namespace keel::data::detail {

std::int64_t BatchLayout::rows_of_batch(std::int64_t k) const {
  if (input_cardinality == kInfiniteCardinality) return batch_size;
  return std::clamp<std::int64_t>(input_cardinality - k * batch_size, 0, batch_size);
}

namespace {

struct ShardSpec {
  int num_shards = 1;
  int index = 0;
};

// The rows of batch k a shard keeps: its share, or row 0 alone when the share is empty, so that the
// batch's shapes are known (the stream then hands out zero rows of it).
distribute::Share kept_rows(const BatchLayout& layout, const ShardSpec& shard, std::int64_t k) {
  const distribute::Share share = distribute::share_of(layout.rows_of_batch(k), shard.num_shards, shard.index);
  return share.size() > 0 ? share : distribute::Share{0, 1};
}

class BatchStream : public ElementStream {
 public:
  BatchStream(std::unique_ptr<ElementStream> input, BatchLayout layout, std::optional<ShardSpec> shard)
      : input_(std::move(input)), layout_(layout), shard_(shard) {}

  std::optional<Element> next() override {
    const distribute::Share kept = shard_ ? kept_rows(layout_, *shard_, batch_) : distribute::Share{0, layout_.batch_size};
    std::vector<Element> samples;
    std::int64_t rows = 0;
    for (; rows < layout_.batch_size; ++rows) {
      std::optional<Element> e = input_->next();
      if (!e) break;
      if (rows >= kept.begin && rows < kept.end) samples.push_back(std::move(*e));
    }
    if (rows == 0 || (layout_.drop_remainder && rows < layout_.batch_size)) return std::nullopt;
    const bool empty_share =
        shard_ && distribute::share_of(rows, shard_->num_shards, shard_->index).size() == 0;
    ++batch_;
    Element out = stack_elements(samples);
    if (empty_share) {
      for (Tensor& t : out) t = t.narrow(0, 0, 0);
    }
    return out;
  }

 private:
  std::unique_ptr<ElementStream> input_;
  BatchLayout layout_;
  std::optional<ShardSpec> shard_;
  std::int64_t batch_ = 0;
};

class BatchNode : public DatasetNode {
 public:
  BatchNode(NodePtr input, std::int64_t batch_size, bool drop_remainder)
      : input_(std::move(input)), layout_{batch_size, input_->cardinality(), drop_remainder} {}

  std::unique_ptr<ElementStream> open() const override {
    return std::make_unique<BatchStream>(input_->open(), layout_, std::nullopt);
  }

  std::int64_t cardinality() const override {
    const std::int64_t n = layout_.input_cardinality;
    if (n < 0) return n;
    return layout_.drop_remainder ? n / layout_.batch_size : (n + layout_.batch_size - 1) / layout_.batch_size;
  }

  std::optional<BatchLayout> batch_layout() const override {
    if (layout_.input_cardinality == kUnknownCardinality) return std::nullopt;
    return layout_;
  }

  std::unique_ptr<ElementStream> open_shard(int num_shards, int index) const override {
    const ShardSpec shard{num_shards, index};
    NeededPositions needed = [layout = layout_, shard](std::int64_t position) {
      const distribute::Share kept = kept_rows(layout, shard, position / layout.batch_size);
      const std::int64_t row = position % layout.batch_size;
      return row >= kept.begin && row < kept.end;
    };
    return std::make_unique<BatchStream>(input_->open_needed(needed), layout_, shard);
  }

 private:
  NodePtr input_;
  BatchLayout layout_;
};

}  // namespace

NodePtr batch_node(NodePtr input, std::int64_t batch_size, bool drop_remainder) {
  return std::make_shared<BatchNode>(std::move(input), batch_size, drop_remainder);
}

}  // namespace keel::data::detail
