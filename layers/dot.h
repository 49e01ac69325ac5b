#pragma once
// Dot (Keras): the dot product of the samples of two tensors along one axis of each (batch_dot). With
// inputs [B, n] and [B, n] the output is [B, 1]; in general the first input's remaining axes come
// first, then the second's. With normalize, each input is first L2-normalized along its axis (the
// output is then the cosine similarity): x / sqrt(max(Σx², 1e-7)), as Keras's ops.normalize.
#include <memory>
#include <string>
#include <vector>

#include "keel/layers/layer_options.h"

namespace keel::layers {

// The contracted axis of each input: an int for both (`.axes = 1`; a negative one counts from each
// input's end), or one per input (`.axes = {1, 2}`).
struct DotAxes {
  std::vector<std::int64_t> axes;  // one (both inputs) or two; empty: not given
  DotAxes() = default;
  DotAxes(std::int64_t both) : axes{both} {}
  DotAxes(std::int64_t first, std::int64_t second) : axes{first, second} {}
};

class DotLayer : public Layer {
 public:
  struct Options {
    DotAxes axes = {};  // required
    bool normalize = false;
  };
  explicit DotLayer(Options options, std::string name = "");
  const Options& options() const { return options_; }
  bool takes_input_list() const override { return true; }
  nlohmann::json get_config() const override;
  static std::shared_ptr<DotLayer> from_config(const nlohmann::json& config);

 protected:
  void build_list(const std::vector<Shape>& input_shapes) override;
  Tensor call(const Tensor& x, const CallContext& ctx) override;
  Tensor call_list(const std::vector<Tensor>& inputs, const CallContext& ctx) override;

 private:
  // The two axes resolved for these shapes; ValueError naming the layer and the shapes otherwise.
  std::pair<std::int64_t, std::int64_t> resolve_axes(const std::vector<Shape>& shapes) const;
  Options options_;
};

Ref<DotLayer> Dot(DotLayer::Options options = {}, std::string name = "");

}  // namespace keel::layers
