#include "keel/layers/initializers.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <functional>
#include <map>

#include "keel/core/error.h"
#include "keel/core/random.h"

namespace keel {
namespace initializers {
namespace {

std::uint64_t seed_or_next(const std::optional<std::uint64_t>& seed) { return seed ? *seed : random::next_seed(); }

nlohmann::json seed_json(const std::optional<std::uint64_t>& seed) { return seed ? nlohmann::json(*seed) : nlohmann::json(); }

std::optional<std::uint64_t> seed_from(const nlohmann::json& config) {
  if (!config.contains("seed") || config["seed"].is_null()) return std::nullopt;
  return config["seed"].get<std::uint64_t>();
}

}  // namespace

Fans compute_fans(const Shape& shape) {
  if (shape.empty()) return {1, 1};
  if (shape.size() == 1) return {double(shape[0]), double(shape[0])};
  if (shape.size() == 2) return {double(shape[0]), double(shape[1])};
  double receptive = 1;
  for (std::size_t i = 0; i + 2 < shape.size(); ++i) receptive *= double(shape[i]);
  return {double(shape[shape.size() - 2]) * receptive, double(shape.back()) * receptive};
}

Tensor Zeros::operator()(const Shape& shape, DType dtype) const { return Tensor::zeros(shape, dtype); }
Tensor Ones::operator()(const Shape& shape, DType dtype) const { return Tensor::ones(shape, dtype); }
Tensor Constant::operator()(const Shape& shape, DType dtype) const { return Tensor::full(shape, value, dtype); }

Tensor Identity::operator()(const Shape& shape, DType dtype) const {
  if (shape.size() != 2)
    throw ValueError(fmt::format("Identity initializer: needs a rank-2 shape, got {}", to_string(shape)));
  Tensor t = Tensor::zeros(shape, dtype);
  for (std::int64_t i = 0; i < std::min(shape[0], shape[1]); ++i) t.narrow(0, i, 1).narrow(1, i, 1).fill(gain);
  return t;
}

Tensor RandomNormal::operator()(const Shape& shape, DType dtype) const {
  return random::normal(shape, mean, stddev, seed_or_next(seed), dtype);
}
nlohmann::json RandomNormal::get_config() const { return {{"mean", mean}, {"stddev", stddev}, {"seed", seed_json(seed)}}; }

Tensor RandomUniform::operator()(const Shape& shape, DType dtype) const {
  return random::uniform(shape, minval, maxval, seed_or_next(seed), dtype);
}
nlohmann::json RandomUniform::get_config() const {
  return {{"minval", minval}, {"maxval", maxval}, {"seed", seed_json(seed)}};
}

Tensor TruncatedNormal::operator()(const Shape& shape, DType dtype) const {
  return random::truncated_normal(shape, mean, stddev, seed_or_next(seed), dtype);
}
nlohmann::json TruncatedNormal::get_config() const {
  return {{"mean", mean}, {"stddev", stddev}, {"seed", seed_json(seed)}};
}

Tensor VarianceScaling::operator()(const Shape& shape, DType dtype) const {
  if (!(scale > 0)) throw ValueError(fmt::format("VarianceScaling: scale must be > 0, got {}", scale));
  Fans fans = compute_fans(shape);
  double n;
  if (mode == "fan_in") n = fans.fan_in;
  else if (mode == "fan_out") n = fans.fan_out;
  else if (mode == "fan_avg") n = (fans.fan_in + fans.fan_out) / 2;
  else throw ValueError(fmt::format("VarianceScaling: mode must be fan_in, fan_out or fan_avg, got '{}'", mode));
  double s = scale / std::max(1.0, n);
  std::uint64_t draw_seed = seed_or_next(seed);
  if (distribution == "truncated_normal")
    return random::truncated_normal(shape, 0.0, std::sqrt(s) / 0.87962566103423978, draw_seed, dtype);
  if (distribution == "untruncated_normal") return random::normal(shape, 0.0, std::sqrt(s), draw_seed, dtype);
  if (distribution == "uniform") {
    double limit = std::sqrt(3.0 * s);
    return random::uniform(shape, -limit, limit, draw_seed, dtype);
  }
  throw ValueError(fmt::format(
      "VarianceScaling: distribution must be truncated_normal, untruncated_normal or uniform, got '{}'", distribution));
}
nlohmann::json VarianceScaling::get_config() const {
  return {{"scale", scale}, {"mode", mode}, {"distribution", distribution}, {"seed", seed_json(seed)}};
}

Tensor Orthogonal::operator()(const Shape& shape, DType dtype) const {
  if (shape.size() < 2)
    throw ValueError(fmt::format("Orthogonal initializer: needs rank >= 2, got {}", to_string(shape)));
  std::int64_t cols = shape.back(), rows = checked_numel(shape) / std::max<std::int64_t>(cols, 1);
  // Work on a tall matrix [r, c] (r >= c) and transpose back if needed.
  std::int64_t r = std::max(rows, cols), c = std::min(rows, cols);
  std::vector<double> a = random::normal({r, c}, 0.0, 1.0, seed_or_next(seed), DType::float64).to_vector();
  // Modified Gram–Schmidt: Q's columns come out with diag(R) > 0, which is Keras's sign fix.
  for (std::int64_t j = 0; j < c; ++j) {
    for (std::int64_t k = 0; k < j; ++k) {
      double dot = 0;
      for (std::int64_t i = 0; i < r; ++i) dot += a[i * c + k] * a[i * c + j];
      for (std::int64_t i = 0; i < r; ++i) a[i * c + j] -= dot * a[i * c + k];
    }
    double norm = 0;
    for (std::int64_t i = 0; i < r; ++i) norm += a[i * c + j] * a[i * c + j];
    norm = std::sqrt(norm);
    for (std::int64_t i = 0; i < r; ++i) a[i * c + j] /= norm;
  }
  std::vector<double> out(rows * cols);
  for (std::int64_t i = 0; i < rows; ++i)
    for (std::int64_t j = 0; j < cols; ++j) out[i * cols + j] = gain * (rows >= cols ? a[i * c + j] : a[j * c + i]);
  return Tensor::from_vector(out, shape, dtype);
}
nlohmann::json Orthogonal::get_config() const { return {{"gain", gain}, {"seed", seed_json(seed)}}; }

namespace {

using Factory = std::function<Initializer(const nlohmann::json&)>;

// The fixed allow-list: Keras class names and their snake_case aliases.
const std::map<std::string, Factory>& registry() {
  static const std::map<std::string, Factory> table = {
      {"Zeros", [](const nlohmann::json&) -> Initializer { return Zeros{}; }},
      {"Ones", [](const nlohmann::json&) -> Initializer { return Ones{}; }},
      {"Constant", [](const nlohmann::json& c) -> Initializer { return Constant{c.value("value", 0.0)}; }},
      {"Identity", [](const nlohmann::json& c) -> Initializer { return Identity{c.value("gain", 1.0)}; }},
      {"RandomNormal",
       [](const nlohmann::json& c) -> Initializer {
         return RandomNormal{c.value("mean", 0.0), c.value("stddev", 0.05), seed_from(c)};
       }},
      {"RandomUniform",
       [](const nlohmann::json& c) -> Initializer {
         return RandomUniform{c.value("minval", -0.05), c.value("maxval", 0.05), seed_from(c)};
       }},
      {"TruncatedNormal",
       [](const nlohmann::json& c) -> Initializer {
         return TruncatedNormal{c.value("mean", 0.0), c.value("stddev", 0.05), seed_from(c)};
       }},
      {"VarianceScaling",
       [](const nlohmann::json& c) -> Initializer {
         return VarianceScaling{c.value("scale", 1.0), c.value("mode", std::string("fan_in")),
                                c.value("distribution", std::string("truncated_normal")), seed_from(c)};
       }},
      {"GlorotUniform", [](const nlohmann::json& c) -> Initializer { return GlorotUniform{seed_from(c)}; }},
      {"GlorotNormal", [](const nlohmann::json& c) -> Initializer { return GlorotNormal{seed_from(c)}; }},
      {"HeUniform", [](const nlohmann::json& c) -> Initializer { return HeUniform{seed_from(c)}; }},
      {"HeNormal", [](const nlohmann::json& c) -> Initializer { return HeNormal{seed_from(c)}; }},
      {"LecunUniform", [](const nlohmann::json& c) -> Initializer { return LecunUniform{seed_from(c)}; }},
      {"LecunNormal", [](const nlohmann::json& c) -> Initializer { return LecunNormal{seed_from(c)}; }},
      {"Orthogonal",
       [](const nlohmann::json& c) -> Initializer { return Orthogonal{c.value("gain", 1.0), seed_from(c)}; }},
  };
  return table;
}

// "glorot_uniform" -> "GlorotUniform"; Keras's short aliases too.
std::string class_name_for(const std::string& name) {
  static const std::map<std::string, std::string> aliases = {
      {"zeros", "Zeros"}, {"ones", "Ones"}, {"constant", "Constant"}, {"identity", "Identity"}, {"uniform", "RandomUniform"},
      {"random_normal", "RandomNormal"}, {"random_uniform", "RandomUniform"}, {"truncated_normal", "TruncatedNormal"},
      {"variance_scaling", "VarianceScaling"}, {"glorot_uniform", "GlorotUniform"}, {"glorot_normal", "GlorotNormal"},
      {"he_uniform", "HeUniform"}, {"he_normal", "HeNormal"}, {"lecun_uniform", "LecunUniform"},
      {"lecun_normal", "LecunNormal"}, {"orthogonal", "Orthogonal"}};
  auto it = aliases.find(name);
  return it != aliases.end() ? it->second : name;
}

std::string known_names() {
  std::string s;
  for (const auto& [name, _] : registry()) s += (s.empty() ? "" : ", ") + name;
  return s;
}

}  // namespace

Initializer deserialize(const nlohmann::json& json) {
  if (json.is_null()) return Initializer();
  std::string name = json.is_string() ? json.get<std::string>() : json.value("class_name", std::string());
  auto it = registry().find(class_name_for(name));
  if (it == registry().end())
    throw ValueError(fmt::format("initializers: unknown initializer '{}' (known: {})", name, known_names()));
  nlohmann::json config = json.is_object() && json.contains("config") ? json["config"] : nlohmann::json::object();
  return it->second(config);
}

}  // namespace initializers

Initializer::Initializer(const char* keras_name) : Initializer(std::string(keras_name)) {}
Initializer::Initializer(const std::string& keras_name) : Initializer(initializers::deserialize(nlohmann::json(keras_name))) {}

}  // namespace keel
