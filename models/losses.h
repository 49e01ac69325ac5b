#pragma once
// Keras's losses (docs/semantics.md §5, §7). A loss maps (y_true, y_pred, sample_weight) to a scalar through
// differentiable ops, so backward() reaches y_pred. The per-sample loss is computed by call(); the
// reduction then weights it: sum_over_batch_size = Σᵢ wᵢ·lossᵢ / (number of loss elements), not / Σw.
//
// Shapes: y_true and y_pred are first brought to the same rank as Keras does (a trailing axis of size
// 1 is squeezed or added, and rank-1 inputs count as one output per sample), then must match exactly
// (ShapeError "target and output must have the same shape"). Sparse labels are y_pred's shape without
// its last axis, optionally with a trailing 1. sample_weight is a scalar, one weight per sample ([N] or
// [N, 1]), or any shape that broadcasts to the per-sample losses.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "keel/core/tensor.h"

namespace keel::losses {

enum class Reduction { sum_over_batch_size, sum, none };

// "sum_over_batch_size", "sum", "none"; reduction_from_name throws ValueError for anything else.
const char* reduction_name(Reduction reduction);
Reduction reduction_from_name(std::string_view name);

class Loss {
 public:
  virtual ~Loss() = default;

  // The reduced loss: a scalar, or the weighted per-sample losses for Reduction::none.
  Tensor operator()(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight = Tensor()) const;
  // The unreduced loss: one value per sample (y_pred's shape without its last axis).
  virtual Tensor call(const Tensor& y_true, const Tensor& y_pred) const = 0;

  const std::string& name() const { return name_; }
  Reduction reduction() const { return reduction_; }
  // The Keras class name ("CategoricalCrossentropy"), the key from_config reads.
  virtual const char* class_name() const = 0;
  // Keras's config: name, reduction and the loss's own options.
  virtual nlohmann::json get_config() const;

 protected:
  Loss(std::string name, Reduction reduction);

 private:
  std::string name_;
  Reduction reduction_;
};

struct SparseCategoricalCrossentropyOptions {
  bool from_logits = false;
  Reduction reduction = Reduction::sum_over_batch_size;
  std::string name = "sparse_categorical_crossentropy";
};

// Labels: int64, or floats holding integers; outside [0, C) is an IndexError naming the row and value.
class SparseCategoricalCrossentropy : public Loss {
 public:
  using Options = SparseCategoricalCrossentropyOptions;
  explicit SparseCategoricalCrossentropy(SparseCategoricalCrossentropyOptions options = {});
  Tensor call(const Tensor& y_true, const Tensor& y_pred) const override;
  const char* class_name() const override { return "SparseCategoricalCrossentropy"; }
  nlohmann::json get_config() const override;

 private:
  bool from_logits_;
};

struct CategoricalCrossentropyOptions {
  bool from_logits = false;
  double label_smoothing = 0;
  Reduction reduction = Reduction::sum_over_batch_size;
  std::string name = "categorical_crossentropy";
};

// From probabilities each row is renormalized to sum 1, then clipped to [1e-7, 1 − 1e-7].
// Label smoothing ls: y·(1 − ls) + ls/C.
class CategoricalCrossentropy : public Loss {
 public:
  using Options = CategoricalCrossentropyOptions;
  explicit CategoricalCrossentropy(CategoricalCrossentropyOptions options = {});
  Tensor call(const Tensor& y_true, const Tensor& y_pred) const override;
  const char* class_name() const override { return "CategoricalCrossentropy"; }
  nlohmann::json get_config() const override;

 private:
  bool from_logits_;
  double label_smoothing_;
};

struct BinaryCrossentropyOptions {
  bool from_logits = false;
  double label_smoothing = 0;
  Reduction reduction = Reduction::sum_over_batch_size;
  std::string name = "binary_crossentropy";
};

// Mean over the last axis of the elementwise cross-entropy. From logits: max(x,0) − x·y + log1p(e^−|x|)
// with gradient sigmoid(x) − y; from probabilities: clipped to [1e-7, 1 − 1e-7]. Smoothing: y·(1 − ls) + ls/2.
class BinaryCrossentropy : public Loss {
 public:
  using Options = BinaryCrossentropyOptions;
  explicit BinaryCrossentropy(BinaryCrossentropyOptions options = {});
  Tensor call(const Tensor& y_true, const Tensor& y_pred) const override;
  const char* class_name() const override { return "BinaryCrossentropy"; }
  nlohmann::json get_config() const override;

 private:
  bool from_logits_;
  double label_smoothing_;
};

struct RegressionLossOptions {
  Reduction reduction = Reduction::sum_over_batch_size;
  std::string name = {};  // empty: the loss's Keras name
};

// Mean over the last axis of (y_pred − y_true)².
class MeanSquaredError : public Loss {
 public:
  using Options = RegressionLossOptions;
  explicit MeanSquaredError(RegressionLossOptions options = {});
  Tensor call(const Tensor& y_true, const Tensor& y_pred) const override;
  const char* class_name() const override { return "MeanSquaredError"; }
};

// Mean over the last axis of |y_pred − y_true|.
class MeanAbsoluteError : public Loss {
 public:
  using Options = RegressionLossOptions;
  explicit MeanAbsoluteError(RegressionLossOptions options = {});
  Tensor call(const Tensor& y_true, const Tensor& y_pred) const override;
  const char* class_name() const override { return "MeanAbsoluteError"; }
};

struct HuberOptions {
  double delta = 1.0;
  Reduction reduction = Reduction::sum_over_batch_size;
  std::string name = "huber_loss";
};

// Mean over the last axis of ½e² where |e| ≤ δ, else δ·|e| − ½δ², with e = y_pred − y_true.
class Huber : public Loss {
 public:
  using Options = HuberOptions;
  explicit Huber(HuberOptions options = {});
  Tensor call(const Tensor& y_true, const Tensor& y_pred) const override;
  const char* class_name() const override { return "Huber"; }
  nlohmann::json get_config() const override;

 private:
  double delta_;
};

// A loss with default options from its Keras name: "sparse_categorical_crossentropy",
// "categorical_crossentropy", "binary_crossentropy", "mse"/"mean_squared_error",
// "mae"/"mean_absolute_error", "huber", or a class name ("Huber"). ValueError lists the known names.
std::shared_ptr<Loss> get(std::string_view name);
// {"class_name": ..., "config": get_config()}.
nlohmann::json serialize(const Loss& loss);
// The inverse of serialize, over a fixed allow-list of classes; unknown classes or config keys are a
// ValueError naming them and the known ones.
std::shared_ptr<Loss> from_config(const nlohmann::json& json);
// The names get() accepts, sorted.
std::vector<std::string> known_names();

}  // namespace keel::losses
