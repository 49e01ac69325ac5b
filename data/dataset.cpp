#include "keel/data/dataset.h"

#include <fmt/format.h>

#include "keel/core/error.h"
#include "keel/core/random.h"
#include "keel/core/strategy.h"
#include "keel/data/detail/dataset_node.h"

namespace keel::data {

DatasetIterator::DatasetIterator(std::unique_ptr<detail::ElementStream> stream) : stream_(std::move(stream)) {}
DatasetIterator::DatasetIterator(DatasetIterator&&) noexcept = default;
DatasetIterator& DatasetIterator::operator=(DatasetIterator&&) noexcept = default;
DatasetIterator::~DatasetIterator() = default;

std::optional<Element> DatasetIterator::next() {
  if (ended_) return std::nullopt;
  if (!stream_) throw UsageError("DatasetIterator::next: the iterator was moved from");
  try {
    return stream_->next();
  } catch (...) {
    // The pass ends at the error; releasing the stream also stops its background work.
    ended_ = true;
    stream_.reset();
    throw;
  }
}

Dataset::PassIterator::PassIterator(DatasetIterator it) : it_(std::move(it)), current_(it_.next()) {}

Dataset::PassIterator& Dataset::PassIterator::operator++() {
  current_ = it_.next();
  return *this;
}

Dataset::Dataset(std::shared_ptr<const detail::DatasetNode> node) : node_(std::move(node)) {}

Dataset Dataset::from_tensors(Element tensors) { return Dataset(detail::tensors_node(std::move(tensors))); }

Dataset Dataset::from_tensor_slices(Element tensors) { return Dataset(detail::tensor_slices_node(std::move(tensors))); }

Dataset Dataset::batch(std::int64_t batch_size, bool drop_remainder) const {
  if (batch_size < 1) throw ValueError(fmt::format("Dataset.batch: batch_size must be >= 1, got {}", batch_size));
  return Dataset(detail::batch_node(node_, batch_size, drop_remainder));
}

Dataset Dataset::shuffle(std::int64_t buffer_size, std::optional<std::uint64_t> seed, bool reshuffle_each_iteration) const {
  if (buffer_size < 1) throw ValueError(fmt::format("Dataset.shuffle: buffer_size must be >= 1, got {}", buffer_size));
  return Dataset(detail::shuffle_node(node_, buffer_size, seed ? *seed : random::next_seed(), reshuffle_each_iteration));
}

Dataset Dataset::map(std::function<Element(Element)> fn, int num_parallel_calls) const {
  if (!fn) throw ValueError("Dataset.map: the function is empty");
  if (num_parallel_calls < 1 && num_parallel_calls != kAutotune)
    throw ValueError(fmt::format("Dataset.map: num_parallel_calls must be >= 1 or kAutotune (-1), got {}", num_parallel_calls));
  return Dataset(detail::map_node(node_, std::move(fn), num_parallel_calls));
}

Dataset Dataset::prefetch(std::int64_t buffer_size) const {
  if (buffer_size < 1) throw ValueError(fmt::format("Dataset.prefetch: buffer_size must be >= 1, got {}", buffer_size));
  return Dataset(detail::prefetch_node(node_, buffer_size));
}

namespace {
void check_count(const char* op, std::int64_t count) {
  if (count < -1) throw ValueError(fmt::format("Dataset.{}: count must be >= -1 (-1: all), got {}", op, count));
}
}  // namespace

Dataset Dataset::take(std::int64_t count) const {
  check_count("take", count);
  return Dataset(detail::take_node(node_, count));
}

Dataset Dataset::skip(std::int64_t count) const {
  check_count("skip", count);
  return Dataset(detail::skip_node(node_, count));
}

Dataset Dataset::repeat(std::int64_t count) const {
  check_count("repeat", count);
  return Dataset(detail::repeat_node(node_, count));
}

Dataset Dataset::cache() const { return Dataset(detail::cache_node(node_)); }

std::int64_t Dataset::cardinality() const { return node_->cardinality(); }

DatasetIterator Dataset::iterator() const { return DatasetIterator(node_->open()); }

ShardIterator Dataset::shard_iterator(int num_shards, int index) const {
  if (num_shards < 1 || index < 0 || index >= num_shards)
    throw ValueError(fmt::format("Dataset.shard_iterator: shard {} of {} does not exist (num_shards >= 1, index in "
                                 "[0, num_shards))", index, num_shards));
  if (num_shards > 1) {
    if (std::optional<detail::BatchLayout> layout = node_->batch_layout())
      return ShardIterator(DatasetIterator(node_->open_shard(num_shards, index)), num_shards, index,
                           [layout = *layout](std::int64_t k) { return layout.rows_of_batch(k); });
  }
  return ShardIterator(iterator(), num_shards, index, {});
}

ShardIterator::ShardIterator(DatasetIterator pass, int num_shards, int index,
                             std::function<std::int64_t(std::int64_t)> rows_of_batch)
    : pass_(std::move(pass)), num_shards_(num_shards), index_(index), rows_of_batch_(std::move(rows_of_batch)) {}

std::optional<ShardElement> ShardIterator::next() {
  if (ended_) return std::nullopt;
  std::optional<Element> element = pass_.next();
  if (!element) return std::nullopt;
  const std::int64_t k = element_++;
  if (num_shards_ == 1) {
    const std::int64_t rows = !element->empty() && element->front().dim() > 0 ? element->front().size(0) : 1;
    return ShardElement{std::move(*element), rows, 0};
  }
  if (rows_of_batch_) {
    const std::int64_t global = rows_of_batch_(k);
    return ShardElement{std::move(*element), global, distribute::share_of(global, num_shards_, index_).begin};
  }
  for (std::size_t i = 0; i < element->size(); ++i) {
    if ((*element)[i].dim() == 0) {
      ended_ = true;
      throw ValueError(fmt::format("Dataset.shard_iterator: tensor {} of element {} is a scalar; shards split an "
                                   "element's first axis (batch() the dataset)", i, k));
    }
  }
  const std::int64_t global = element->empty() ? 0 : element->front().size(0);
  const distribute::Share share = distribute::share_of(global, num_shards_, index_);
  for (Tensor& t : *element) t = t.narrow(0, share.begin, share.size());
  return ShardElement{std::move(*element), global, share.begin};
}

}  // namespace keel::data
