#include "keel/models/detail/dataset_epoch_iterator.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "keel/core/error.h"

namespace keel::models::detail {

DatasetEpochIterator::DatasetEpochIterator(const data::Dataset& dataset, std::optional<std::int64_t> steps_per_epoch,
                                           const char* what)
    : dataset_(dataset), steps_(steps_per_epoch), what_(what) {}

std::optional<Batch> DatasetEpochIterator::read() {
  if (!pass_) pass_.emplace(dataset_.iterator());
  std::optional<data::Element> element = pass_->next();
  if (!element) return std::nullopt;
  if (element->size() != 2 && element->size() != 3)
    throw ValueError(fmt::format("{}: batch {} of the dataset holds {} tensors; training and evaluation need "
                                 "(x, y) or (x, y, sample_weight) batches",
                                 what_, read_, element->size()));
  ++read_;
  return Batch{.x = {(*element)[0]}, .y = {(*element)[1]}, .sample_weight = element->size() == 3 ? (*element)[2] : Tensor()};
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
  if (!steps_ && !pending_) {  // a new pass, unless first() already started one
    pass_.reset();
    read_ = 0;
  }
}

std::optional<Batch> DatasetEpochIterator::next() {
  if (steps_ && taken_ >= *steps_) return std::nullopt;
  std::optional<Batch> batch = pending_ ? std::exchange(pending_, std::nullopt) : read();
  if (!batch && steps_) {
    pass_.reset();
    read_ = 0;
    batch = read();
    if (!batch) throw ValueError(fmt::format("{}: the dataset is empty", what_));
  }
  if (batch) ++taken_;
  return batch;
}

}  // namespace keel::models::detail
