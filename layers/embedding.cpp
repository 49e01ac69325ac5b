#include "keel/layers/embedding.h"

#include <fmt/format.h>

#include <cmath>

#include "keel/autograd/ops.h"
#include "keel/core/error.h"

namespace keel::layers {

EmbeddingLayer::EmbeddingLayer(Options options, std::string name)
    : Layer("Embedding", std::move(name)), options_(std::move(options)) {
  require_positive(*this, "input_dim", options_.input_dim);
  require_positive(*this, "output_dim", options_.output_dim);
  set_activity_regularizer(options_.activity_regularizer);
}

void EmbeddingLayer::build(const Shape&) {
  embeddings_ = add_weight("embeddings", {options_.input_dim, options_.output_dim},
                           {.initializer = options_.embeddings_initializer,
                            .regularizer = options_.embeddings_regularizer,
                            .constraint = options_.embeddings_constraint});
}

Shape EmbeddingLayer::compute_output_shape(const Shape& input_shape) const {
  Shape out = input_shape;
  out.push_back(options_.output_dim);
  return out;
}

// The indices as a flat int64 tensor; each must be a whole number in [0, input_dim).
Tensor EmbeddingLayer::indices_of(const Tensor& x) const {
  if (x.dtype() == DType::boolean)
    throw ValueError(fmt::format("Embedding '{}': expected integer indices, got a bool tensor", name()));
  const std::vector<double> values = x.to_vector();
  for (std::size_t i = 0; i < values.size(); ++i) {
    const double v = values[i];
    if (v != std::floor(v) || !std::isfinite(v))
      throw ValueError(fmt::format("Embedding '{}': index {} at position {} is not a whole number", name(), v, i));
    if (v < 0 || v >= static_cast<double>(options_.input_dim))
      throw IndexError(fmt::format("Embedding '{}': index {} at position {} is out of range [0, {}) (input_dim)", name(),
                                   v, i, options_.input_dim));
  }
  return x.dtype() == DType::int64 ? x.contiguous().reshape({x.numel()}) : x.to(DType::int64).reshape({x.numel()});
}

Tensor EmbeddingLayer::call(const Tensor& x, const CallContext&) {
  return ops::reshape(ops::take_rows(embeddings_.value(), indices_of(x)), compute_output_shape(x.shape()));
}

Tensor EmbeddingLayer::compute_mask(const Tensor& inputs) const {
  if (!options_.mask_zero) return {};
  return ops::greater(ops::abs(inputs.to(DType::float64)), ops::scalar_like(inputs.to(DType::float64), 0));
}

nlohmann::json EmbeddingLayer::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["input_dim"] = options_.input_dim;
  c["output_dim"] = options_.output_dim;
  c["embeddings_initializer"] = options_.embeddings_initializer.serialize();
  c["embeddings_regularizer"] = options_.embeddings_regularizer.serialize();
  c["activity_regularizer"] = options_.activity_regularizer.serialize();
  c["embeddings_constraint"] = options_.embeddings_constraint.serialize();
  c["mask_zero"] = options_.mask_zero;
  return c;
}

std::shared_ptr<EmbeddingLayer> EmbeddingLayer::from_config(const nlohmann::json& c) {
  return make_from_config<EmbeddingLayer>("Embedding", c, [](config::ConfigReader& r) -> Options {
    Options o;
    o.input_dim = r.integer("input_dim", 0);
    o.output_dim = r.integer("output_dim", 0);
    if (r.contains("embeddings_initializer"))
      o.embeddings_initializer = initializers::deserialize(r.value("embeddings_initializer"));
    o.embeddings_regularizer = regularizers::deserialize(r.value("embeddings_regularizer"));
    o.activity_regularizer = regularizers::deserialize(r.value("activity_regularizer"));
    o.embeddings_constraint = constraints::deserialize(r.value("embeddings_constraint"));
    o.mask_zero = r.boolean("mask_zero", false);
    return o;
  });
}

Ref<EmbeddingLayer> Embedding(EmbeddingLayer::Options options, std::string name) {
  return std::make_shared<EmbeddingLayer>(std::move(options), std::move(name));
}

}  // namespace keel::layers
