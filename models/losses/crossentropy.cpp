// The three cross-entropies (docs/semantics.md §7).
#include <fmt/format.h>

#include "keel/autograd/ops.h"
#include "keel/core/error.h"
#include "keel/models/detail/targets.h"
#include "keel/models/losses.h"
#include "keel/models/losses/detail/sigmoid_cross_entropy.h"

namespace keel::losses {
namespace {

using models::detail::aligned_targets;
using models::detail::require_floating;

constexpr double kEpsilon = 1e-7;  // Keras's backend.epsilon(): the clip margin for probabilities

double checked_smoothing(double label_smoothing, const char* op) {
  if (!(label_smoothing >= 0 && label_smoothing <= 1))
    throw ValueError(fmt::format("{}: label_smoothing must be in [0, 1], got {}", op, label_smoothing));
  return label_smoothing;
}

// log of each row renormalized to sum 1 and clipped to [ε, 1 − ε].
Tensor clipped_log_probabilities(const Tensor& probabilities) {
  Tensor normalized = probabilities / ops::sum(probabilities, {-1}, true);
  return ops::log(ops::clip(normalized, kEpsilon, 1.0 - kEpsilon));
}

nlohmann::json with_options(nlohmann::json config, bool from_logits, double label_smoothing) {
  config["from_logits"] = from_logits;
  config["label_smoothing"] = label_smoothing;
  return config;
}

}  // namespace

SparseCategoricalCrossentropy::SparseCategoricalCrossentropy(SparseCategoricalCrossentropyOptions options)
    : Loss(std::move(options.name), options.reduction), from_logits_(options.from_logits) {}

Tensor SparseCategoricalCrossentropy::call(const Tensor& y_true, const Tensor& y_pred) const {
  const char* op = class_name();
  require_floating(y_pred, op, "y_pred");
  if (!y_true.defined()) throw ValueError(fmt::format("{}: y_true is undefined", op));
  const std::int64_t rows = models::detail::sparse_label_count(y_true.shape(), y_pred.shape(), op);
  const std::int64_t classes = y_pred.shape().back();
  Tensor labels = models::detail::sparse_labels(y_true, classes, op);
  Tensor matrix = y_pred.dim() == 2 ? y_pred : ops::reshape(y_pred, {rows, classes});
  Tensor losses;
  if (from_logits_) {
    losses = ops::sparse_softmax_cross_entropy(matrix, labels);
  } else {
    // Pick each row's labelled entry from the flattened log-probabilities.
    Tensor flat = ops::reshape(clipped_log_probabilities(matrix), {rows * classes});
    Tensor index = Tensor::empty({rows}, DType::int64);
    std::int64_t* ip = index.data<std::int64_t>();
    const std::int64_t* lp = labels.data<std::int64_t>();
    for (std::int64_t i = 0; i < rows; ++i) ip[i] = i * classes + lp[i];
    losses = -ops::take_rows(flat, index);
  }
  const Shape batch(y_pred.shape().begin(), y_pred.shape().end() - 1);
  return batch.size() == 1 ? losses : ops::reshape(losses, batch);
}

nlohmann::json SparseCategoricalCrossentropy::get_config() const {
  nlohmann::json config = Loss::get_config();
  config["from_logits"] = from_logits_;
  return config;
}

CategoricalCrossentropy::CategoricalCrossentropy(CategoricalCrossentropyOptions options)
    : Loss(std::move(options.name), options.reduction),
      from_logits_(options.from_logits),
      label_smoothing_(checked_smoothing(options.label_smoothing, "CategoricalCrossentropy")) {}

Tensor CategoricalCrossentropy::call(const Tensor& y_true, const Tensor& y_pred) const {
  auto [target, output] = aligned_targets(y_true, y_pred, class_name());
  if (label_smoothing_ > 0) {
    const double classes = static_cast<double>(output.shape().back());
    target = target * (1.0 - label_smoothing_) + label_smoothing_ / classes;
  }
  Tensor log_probs = from_logits_ ? ops::log_softmax(output, -1) : clipped_log_probabilities(output);
  return -ops::sum(target * log_probs, {-1});
}

nlohmann::json CategoricalCrossentropy::get_config() const {
  return with_options(Loss::get_config(), from_logits_, label_smoothing_);
}

BinaryCrossentropy::BinaryCrossentropy(BinaryCrossentropyOptions options)
    : Loss(std::move(options.name), options.reduction),
      from_logits_(options.from_logits),
      label_smoothing_(checked_smoothing(options.label_smoothing, "BinaryCrossentropy")) {}

Tensor BinaryCrossentropy::call(const Tensor& y_true, const Tensor& y_pred) const {
  auto [target, output] = aligned_targets(y_true, y_pred, class_name());
  if (label_smoothing_ > 0) target = target * (1.0 - label_smoothing_) + 0.5 * label_smoothing_;
  Tensor elementwise;
  if (from_logits_) {
    elementwise = detail::sigmoid_cross_entropy(output, target);
  } else {
    Tensor p = ops::clip(output, kEpsilon, 1.0 - kEpsilon);
    elementwise = -(target * ops::log(p) + (1.0 - target) * ops::log(1.0 - p));
  }
  return ops::mean(elementwise, {-1});
}

nlohmann::json BinaryCrossentropy::get_config() const {
  return with_options(Loss::get_config(), from_logits_, label_smoothing_);
}

}  // namespace keel::losses
