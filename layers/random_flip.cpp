#include "keel/layers/random_flip.h"

#include <fmt/format.h>

#include <vector>

#include "keel/core/error.h"
#include "keel/layers/image_batch.h"
#include "keel/layers/image_resample.h"

namespace keel::layers {

RandomFlipLayer::RandomFlipLayer(Options options, std::string name)
    : Layer("RandomFlip", std::move(name)), options_(std::move(options)), flip_seeds_(options_.seed, 0x666c6970u /* "flip" */) {
  const std::string& m = options_.mode;
  horizontal_ = m == "horizontal" || m == "horizontal_and_vertical";
  vertical_ = m == "vertical" || m == "horizontal_and_vertical";
  if (!horizontal_ && !vertical_)
    throw ValueError(fmt::format(
        "RandomFlip '{}': mode must be \"horizontal\", \"vertical\" or \"horizontal_and_vertical\", got \"{}\"",
        this->name(), m));
}

Tensor RandomFlipLayer::call(const Tensor& x, const CallContext& ctx) {
  if (!ctx.training) return x;
  Tensor batch = image::as_batch(*this, x);
  const std::int64_t n = batch.size(0);
  const auto h = static_cast<double>(batch.size(1)), w = static_cast<double>(batch.size(2));
  // Keras 3: an image flips when its uniform draw is <= 0.5.
  const std::vector<double> u = image::per_image_uniforms(ctx, n, 1, flip_seeds_.next());
  std::vector<image::ImageMap> maps(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    if (u[i] > 0.5) continue;
    if (vertical_) maps[i].rows = {.sign = -1.0, .offset = h - 1.0};
    if (horizontal_) maps[i].cols = {.sign = -1.0, .offset = w - 1.0};
  }
  Tensor y = image::resample(batch, maps, {.fill_mode = image::FillMode::nearest, .interpolation = image::Interpolation::nearest});
  return image::like_input(y, x);
}

nlohmann::json RandomFlipLayer::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["mode"] = options_.mode;
  c["seed"] = options_.seed ? nlohmann::json(*options_.seed) : nlohmann::json();
  c["data_format"] = "channels_last";
  return c;
}

std::shared_ptr<RandomFlipLayer> RandomFlipLayer::from_config(const nlohmann::json& c) {
  return make_from_config<RandomFlipLayer>("RandomFlip", c, [](config::ConfigReader& r) -> Options {
    image::require_channels_last(r);
    return {.mode = r.string("mode", "horizontal_and_vertical"), .seed = read_seed(r)};
  });
}

Ref<RandomFlipLayer> RandomFlip(RandomFlipLayer::Options options, std::string name) {
  return std::make_shared<RandomFlipLayer>(std::move(options), std::move(name));
}

}  // namespace keel::layers
