#include "keel/models/detail/dataset_epoch_iterator.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "keel/core/error.h"
#include "keel/core/strategy.h"

namespace keel::models::detail {

DatasetEpochIterator::DatasetEpochIterator(const data::Dataset& dataset, std::optional<std::int64_t> steps_per_epoch,
                                           const char* what)
    : dataset_(dataset),
      steps_(steps_per_epoch),
      what_(what),
      num_shards_(distribute::current_strategy().num_replicas()),
      shard_(distribute::current_strategy().rank()) {}

namespace {

// `rows` placed at row `first_row` of a zero tensor of `global_rows` rows.
Tensor within_global_batch(const Tensor& rows, std::int64_t global_rows, std::int64_t first_row) {
  if (rows.dim() == 0 || rows.size(0) == global_rows) return rows;
  Shape shape = rows.shape();
  shape[0] = global_rows;
  Tensor global = Tensor::zeros(shape, rows.dtype());
  global.narrow(0, first_row, rows.size(0)).copy_from(rows);
  return global;
}

}  // namespace

void DatasetEpochIterator::restart_pass() {
  pass_.reset();
  read_ = 0;
}

std::optional<Batch> DatasetEpochIterator::read() {
  if (!pass_) pass_.emplace(dataset_.shard_iterator(num_shards_, shard_));
  std::optional<data::ShardElement> element = pass_->next();
  if (!element) return std::nullopt;
  data::Element& tensors = element->rows;
  if (tensors.size() != 2 && tensors.size() != 3)
    throw ValueError(fmt::format("{}: batch {} of the dataset holds {} tensors; training and evaluation need "
                                 "(x, y) or (x, y, sample_weight) batches",
                                 what_, read_, tensors.size()));
  ++read_;
  for (Tensor& t : tensors) t = within_global_batch(t, element->global_rows, element->first_row);
  return Batch{.x = {tensors[0]}, .y = {tensors[1]}, .sample_weight = tensors.size() == 3 ? tensors[2] : Tensor()};
}

const Batch& DatasetEpochIterator::first() {
  if (!pending_) pending_ = read();
  if (!pending_) throw ValueError(fmt::format("{}: the dataset is empty", what_));
  return *pending_;
}

std::int64_t DatasetEpochIterator::steps() const {
  if (steps_) return *steps_;
  return std::max<std::int64_t>(dataset_.cardinality(), 0);
}

void DatasetEpochIterator::begin_epoch(std::int64_t) {
  taken_ = 0;
  if (!steps_ && !pending_) restart_pass();  // a new pass, unless first() already started one
}

std::optional<Batch> DatasetEpochIterator::next() {
  if (steps_ && taken_ >= *steps_) return std::nullopt;
  std::optional<Batch> batch = pending_ ? std::exchange(pending_, std::nullopt) : read();
  if (!batch && steps_) {
    restart_pass();
    batch = read();
    if (!batch) throw ValueError(fmt::format("{}: the dataset is empty", what_));
  }
  if (batch) ++taken_;
  return batch;
}

}  // namespace keel::models::detail
