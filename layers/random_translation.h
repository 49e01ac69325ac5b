#pragma once
// RandomTranslation (Keras 3): in training, shifts each image by a random fraction of its size,
// dy = U(height lower, height upper)·H down and dx = U(width lower, width upper)·W right
// (negative: up / left), so output(y, x) = input(y − dy, x − dx); identity otherwise. Fractional
// shifts are interpolated ("bilinear", the default, or "nearest"); pixels shifted in from outside
// are filled by fill_mode: "reflect" (default), "wrap", "constant" (fill_value) or "nearest" (see
// image_resample.h). Images are channels_last, [N, H, W, C] or [H, W, C]. Seeded like Dropout.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "keel/layers/call_seeds.h"
#include "keel/layers/image_resample.h"
#include "keel/layers/layer_options.h"

namespace keel::layers {

// A shift range as a fraction of the image size, each bound in [-1, 1]. One number f means
// [−|f|, |f|] (Keras); a pair {a, b} means [min(a, b), max(a, b)].
struct TranslationFactor {
  double lower = 0.0, upper = 0.0;
  TranslationFactor() = default;
  TranslationFactor(double f) : lower(-std::abs(f)), upper(std::abs(f)) {}
  TranslationFactor(double a, double b) : lower(std::min(a, b)), upper(std::max(a, b)) {}
  bool operator==(const TranslationFactor&) const = default;
};

class RandomTranslationLayer : public Layer {
 public:
  struct Options {
    TranslationFactor height_factor = {};
    TranslationFactor width_factor = {};
    std::string fill_mode = "reflect";
    std::string interpolation = "bilinear";
    std::optional<std::uint64_t> seed = std::nullopt;
    double fill_value = 0.0;
  };
  explicit RandomTranslationLayer(Options options, std::string name = "");
  const Options& options() const { return options_; }
  nlohmann::json get_config() const override;
  static std::shared_ptr<RandomTranslationLayer> from_config(const nlohmann::json& config);

 protected:
  Tensor call(const Tensor& x, const CallContext& ctx) override;

 private:
  Options options_;
  image::ResampleOptions resample_;
  CallSeeds shift_seeds_;
};

Ref<RandomTranslationLayer> RandomTranslation(RandomTranslationLayer::Options options = {},
                                                          std::string name = "");

}  // namespace keel::layers
