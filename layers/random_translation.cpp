#include "keel/layers/random_translation.h"

#include <fmt/format.h>

#include <vector>

#include "keel/core/error.h"
#include "keel/layers/image_batch.h"

namespace keel::layers {
namespace {

void check_factor(const Layer& layer, const char* argument, const TranslationFactor& f) {
  if (!(f.lower >= -1.0 && f.upper <= 1.0))
    throw ValueError(fmt::format("RandomTranslation '{}': {} must lie within [-1, 1], got [{}, {}]", layer.name(),
                                 argument, f.lower, f.upper));
}

nlohmann::json factor_to_json(const TranslationFactor& f) { return nlohmann::json::array({f.lower, f.upper}); }

// A number f ([-f, f]) or [lower, upper]; 0 when the key is missing.
TranslationFactor read_factor(config::ConfigReader& r, const std::string& key) {
  const nlohmann::json& j = r.value(key);
  if (!r.contains(key)) return TranslationFactor(0.0);
  if (j.is_number()) return TranslationFactor(j.get<double>());
  if (j.is_array() && j.size() == 2 && j[0].is_number() && j[1].is_number())
    return TranslationFactor(j[0].get<double>(), j[1].get<double>());
  r.fail(key, "must be a number or [lower, upper]", j);
}

}  // namespace

RandomTranslationLayer::RandomTranslationLayer(Options options, std::string name)
    : Layer("RandomTranslation", std::move(name)),
      options_(std::move(options)),
      shift_seeds_(options_.seed, 0x73686674u /* "shft" */) {
  check_factor(*this, "height_factor", options_.height_factor);
  check_factor(*this, "width_factor", options_.width_factor);
  auto fill = image::fill_mode_from_name(options_.fill_mode);
  if (!fill)
    throw ValueError(fmt::format(
        "RandomTranslation '{}': fill_mode must be \"reflect\", \"wrap\", \"constant\" or \"nearest\", got \"{}\"",
        this->name(), options_.fill_mode));
  auto interpolation = image::interpolation_from_name(options_.interpolation);
  if (!interpolation)
    throw ValueError(fmt::format("RandomTranslation '{}': interpolation must be \"bilinear\" or \"nearest\", got \"{}\"",
                                 this->name(), options_.interpolation));
  if (!std::isfinite(options_.fill_value))
    throw ValueError(fmt::format("RandomTranslation '{}': fill_value must be finite, got {}", this->name(),
                                 options_.fill_value));
  resample_ = {.fill_mode = *fill, .interpolation = *interpolation, .fill_value = options_.fill_value};
}

Tensor RandomTranslationLayer::call(const Tensor& x, const CallContext& ctx) {
  if (!ctx.training) return x;
  Tensor batch = image::as_batch(*this, x);
  const std::int64_t n = batch.size(0);
  const auto h = static_cast<double>(batch.size(1)), w = static_cast<double>(batch.size(2));
  // Column 0: the height fraction, column 1: the width fraction, each uniform in [0, 1) and
  // stretched over its factor's range.
  const std::vector<double> u = image::per_image_uniforms(ctx, n, 2, shift_seeds_.next());
  const TranslationFactor &hf = options_.height_factor, &wf = options_.width_factor;
  std::vector<image::ImageMap> maps(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    const double dy = (hf.lower + (hf.upper - hf.lower) * u[2 * i]) * h;
    const double dx = (wf.lower + (wf.upper - wf.lower) * u[2 * i + 1]) * w;
    maps[i] = {.rows = {.sign = 1.0, .offset = -dy}, .cols = {.sign = 1.0, .offset = -dx}};
  }
  return image::like_input(image::resample(batch, maps, resample_), x);
}

nlohmann::json RandomTranslationLayer::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["height_factor"] = factor_to_json(options_.height_factor);
  c["width_factor"] = factor_to_json(options_.width_factor);
  c["fill_mode"] = options_.fill_mode;
  c["interpolation"] = options_.interpolation;
  c["seed"] = options_.seed ? nlohmann::json(*options_.seed) : nlohmann::json();
  c["fill_value"] = options_.fill_value;
  c["data_format"] = "channels_last";
  return c;
}

std::shared_ptr<RandomTranslationLayer> RandomTranslationLayer::from_config(const nlohmann::json& c) {
  return make_from_config<RandomTranslationLayer>("RandomTranslation", c, [](config::ConfigReader& r) -> Options {
    image::require_channels_last(r);
    return {.height_factor = read_factor(r, "height_factor"),
            .width_factor = read_factor(r, "width_factor"),
            .fill_mode = r.string("fill_mode", "reflect"),
            .interpolation = r.string("interpolation", "bilinear"),
            .seed = read_seed(r),
            .fill_value = r.number("fill_value", 0.0)};
  });
}

Ref<RandomTranslationLayer> RandomTranslation(RandomTranslationLayer::Options options, std::string name) {
  return std::make_shared<RandomTranslationLayer>(std::move(options), std::move(name));
}

}  // namespace keel::layers
