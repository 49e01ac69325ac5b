#pragma once
// Keras's elementwise merge layers: Add, Subtract, Multiply, Average, Maximum, Minimum. Each takes a
// list of tensors with the same batch size whose other axes broadcast (Keras's rule: sizes align from
// the right, a 1 stretches; a lower-rank input gains axes of size 1 after its batch axis). Subtract
// takes exactly two.
#include <memory>
#include <string>
#include <vector>

#include "keel/layers/layer_options.h"

namespace keel::layers {

class MergeLayer : public Layer {
 public:
  struct Options {};
  MergeLayer(std::string class_name, std::string name);
  bool takes_input_list() const override { return true; }
  // The broadcast shape of the inputs (batch first); ValueError naming the layer and the shapes when
  // they do not broadcast or their batch sizes differ.
  Shape merged_shape(const std::vector<Shape>& input_shapes) const;

 protected:
  void build_list(const std::vector<Shape>& input_shapes) override;
  Tensor call(const Tensor& x, const CallContext& ctx) override;
  Tensor call_list(const std::vector<Tensor>& inputs, const CallContext& ctx) override;
  // Combines inputs of equal rank (broadcasting).
  virtual Tensor merge(const std::vector<Tensor>& inputs) const = 0;

 private:
  void check_count(std::size_t inputs) const;
};

#define KEEL_MERGE_LAYER(Name)                                               \
  class Name##Layer : public MergeLayer {                                    \
   public:                                                                   \
    explicit Name##Layer(Options options = {}, std::string name = "");       \
    static std::shared_ptr<Name##Layer> from_config(const nlohmann::json& c); \
                                                                             \
   protected:                                                                \
    Tensor merge(const std::vector<Tensor>& inputs) const override;          \
  };                                                                         \
  Ref<Name##Layer> Name(MergeLayer::Options options = {}, std::string name = "");

KEEL_MERGE_LAYER(Add)
KEEL_MERGE_LAYER(Subtract)
KEEL_MERGE_LAYER(Multiply)
KEEL_MERGE_LAYER(Average)
KEEL_MERGE_LAYER(Maximum)
KEEL_MERGE_LAYER(Minimum)
#undef KEEL_MERGE_LAYER

}  // namespace keel::layers
