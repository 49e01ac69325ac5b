#pragma once
// Input (Keras's InputLayer): declares the per-sample input shape (no batch axis; -1 for a size
// that may vary) so a model can build before seeing data. Calling it checks the shape and passes
// the input through.
#include <memory>
#include <optional>
#include <string>

#include "keel/layers/layer_options.h"

namespace keel::layers {

class InputLayer : public Layer {
 public:
  struct Options {
    Shape shape = {};  // without the batch axis
    // The inputs' dtype: int64 for index inputs (Embedding's); a float dtype sets the layer's dtype.
    // Default: the layer's dtype (config::floatx()).
    std::optional<DType> dtype = std::nullopt;
  };
  explicit InputLayer(Options options, std::string name = "");
  const Options& options() const { return options_; }
  // The declared per-sample shape (no batch axis).
  const Shape& input_shape() const { return options_.shape; }
  std::optional<Shape> declared_input_shape() const override { return options_.shape; }
  // The dtype of the tensors it takes: Options::dtype when that is an integer dtype, else dtype().
  DType input_dtype() const;
  Shape compute_output_shape(const Shape& input_shape) const override;
  nlohmann::json get_config() const override;
  static std::shared_ptr<InputLayer> from_config(const nlohmann::json& config);

 protected:
  Tensor call(const Tensor& x, const CallContext& ctx) override;

 private:
  void check_shape(const Shape& full_shape) const;
  Options options_;
};

Ref<InputLayer> Input(InputLayer::Options options = {}, std::string name = "");

}  // namespace keel::layers
