#pragma once
// Embedding (Keras 3): maps integer indices in [0, input_dim) to rows of a learned table `embeddings`
// [input_dim, output_dim]; an input of shape S gives S + [output_dim]. Indices come as int64, or as
// floats holding whole numbers (a float32 dataset's labels). With mask_zero, compute_mask(inputs) is
// `inputs != 0` (index 0 is padding); keel's Sequential does not pass masks between layers, so the
// mask is for the caller to use.
//
// The table's gradient is dense: the backward pass scatters each output row's gradient into its index's
// row of a zeroed [input_dim, output_dim] tensor, because keel's optimizers take dense gradients.
#include <cstdint>
#include <memory>
#include <string>

#include "keel/layers/layer_options.h"

namespace keel::layers {

class EmbeddingLayer : public Layer {
 public:
  struct Options {
    std::int64_t input_dim = 0;
    std::int64_t output_dim = 0;
    Initializer embeddings_initializer = "uniform";  // RandomUniform(-0.05, 0.05)
    Regularizer embeddings_regularizer = {};
    Regularizer activity_regularizer = {};
    Constraint embeddings_constraint = {};
    bool mask_zero = false;
  };
  explicit EmbeddingLayer(Options options, std::string name = "");
  const Options& options() const { return options_; }
  const Variable& embeddings() const { return embeddings_; }
  // A boolean tensor, true where inputs != 0, when mask_zero; otherwise undefined.
  Tensor compute_mask(const Tensor& inputs) const;
  Shape compute_output_shape(const Shape& input_shape) const override;
  nlohmann::json get_config() const override;
  static std::shared_ptr<EmbeddingLayer> from_config(const nlohmann::json& config);

 protected:
  void build(const Shape& input_shape) override;
  Tensor call(const Tensor& x, const CallContext& ctx) override;

 private:
  Tensor indices_of(const Tensor& x) const;

  Options options_;
  Variable embeddings_;
};

Ref<EmbeddingLayer> Embedding(EmbeddingLayer::Options options = {}, std::string name = "");

}  // namespace keel::layers
