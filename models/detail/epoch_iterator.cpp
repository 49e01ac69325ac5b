#include "keel/models/detail/epoch_iterator.h"

#include "keel/autograd/grad_mode.h"
#include "keel/autograd/ops.h"
#include "keel/core/profiler.h"
#include "keel/data/in_memory.h"
#include "keel/models/detail/batch_rows.h"

namespace keel::models::detail {
namespace {

// Class weights become per-sample weights (labels sparse [N] / [N, 1], or one-hot [N, C]).
Tensor class_weights_for(const Tensor& y, const std::map<std::int64_t, double>& class_weight) {
  std::vector<double> labels;
  if (y.dim() >= 2 && y.shape().back() > 1) labels = ops::argmax(y, -1).to_vector();
  else labels = y.to_vector();
  std::vector<double> w(labels.size());
  for (std::size_t i = 0; i < labels.size(); ++i) {
    auto it = class_weight.find(static_cast<std::int64_t>(labels[i]));
    w[i] = it == class_weight.end() ? 1.0 : it->second;
  }
  return Tensor::from_vector(w, {static_cast<std::int64_t>(w.size())});
}

Tensor combine_weights(const Tensor& a, const Tensor& b) {
  if (!a.defined()) return b;
  if (!b.defined()) return a;
  NoGrad no_grad;
  return ops::cast(a, DType::float64) * ops::cast(b, DType::float64).reshape(a.shape());
}

}  // namespace

TensorEpochIterator::TensorEpochIterator(std::vector<Tensor> x, std::vector<Tensor> y, Tensor sample_weight,
                                         Options options)
    : x_(std::move(x)), y_(std::move(y)), sample_weight_(std::move(sample_weight)), options_(std::move(options)),
      samples_(samples_of(x_.at(0))), ranges_(data::batch_ranges(samples_, options_.batch_size)) {
  if (!options_.class_weight.empty())
    sample_weight_ = combine_weights(sample_weight_, class_weights_for(y_.at(0), options_.class_weight));
}

void TensorEpochIterator::begin_epoch(std::int64_t epoch) {
  next_range_ = 0;
  if (!options_.shuffle) return;
  auto perm = data::shuffled_indices(samples_, options_.seed + static_cast<std::uint64_t>(epoch));
  order_ = Tensor::from_vector(std::vector<double>(perm.begin(), perm.end()), {samples_}, DType::int64);
}

std::optional<Batch> TensorEpochIterator::next() {
  if (next_range_ == ranges_.size()) return std::nullopt;
  profile::Scope scope("batch gather");
  const std::int64_t begin = ranges_[next_range_].first, end = ranges_[next_range_].second;
  ++next_range_;
  auto batch_of = [&](const Tensor& t) {
    return options_.shuffle ? rows_at(t, order_.narrow(0, begin, end - begin)) : rows(t, begin, end);
  };
  Batch batch{.sample_weight = batch_of(sample_weight_)};
  for (const Tensor& t : x_) batch.x.push_back(batch_of(t));
  for (const Tensor& t : y_) batch.y.push_back(batch_of(t));
  return batch;
}

}  // namespace keel::models::detail
