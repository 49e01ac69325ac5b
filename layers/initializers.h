#pragma once
// Keras's initializers (docs/semantics.md §3), usable as objects (initializers::HeNormal{.seed = 3}) or by
// name ("he_normal"). Without a seed each call draws fresh values from keel's global stream (see
// set_random_seed); with a seed every call gives the same values, on any thread count.
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "keel/core/tensor.h"
#include "keel/layers/component.h"

namespace keel::initializers {

// Keras's fans: rank 2 [in, out]; conv kernels [..receptive.., in, out].
struct Fans {
  double fan_in, fan_out;
};
Fans compute_fans(const Shape& shape);

struct Zeros {
  static constexpr const char* class_name = "Zeros";
  Tensor operator()(const Shape& shape, DType dtype) const;
  nlohmann::json get_config() const { return nlohmann::json::object(); }
};

struct Ones {
  static constexpr const char* class_name = "Ones";
  Tensor operator()(const Shape& shape, DType dtype) const;
  nlohmann::json get_config() const { return nlohmann::json::object(); }
};

struct Constant {
  double value = 0.0;
  static constexpr const char* class_name = "Constant";
  Tensor operator()(const Shape& shape, DType dtype) const;
  nlohmann::json get_config() const { return {{"value", value}}; }
};

// gain · I for rank-2 shapes (rectangular: ones on the main diagonal).
struct Identity {
  double gain = 1.0;
  static constexpr const char* class_name = "Identity";
  Tensor operator()(const Shape& shape, DType dtype) const;
  nlohmann::json get_config() const { return {{"gain", gain}}; }
};

struct RandomNormal {
  double mean = 0.0, stddev = 0.05;
  std::optional<std::uint64_t> seed = std::nullopt;
  static constexpr const char* class_name = "RandomNormal";
  Tensor operator()(const Shape& shape, DType dtype) const;
  nlohmann::json get_config() const;
};

struct RandomUniform {
  double minval = -0.05, maxval = 0.05;
  std::optional<std::uint64_t> seed = std::nullopt;
  static constexpr const char* class_name = "RandomUniform";
  Tensor operator()(const Shape& shape, DType dtype) const;
  nlohmann::json get_config() const;
};

// Normal draws beyond two standard deviations are redrawn.
struct TruncatedNormal {
  double mean = 0.0, stddev = 0.05;
  std::optional<std::uint64_t> seed = std::nullopt;
  static constexpr const char* class_name = "TruncatedNormal";
  Tensor operator()(const Shape& shape, DType dtype) const;
  nlohmann::json get_config() const;
};

// s = scale / max(1, n) with n the fan chosen by `mode`; truncated_normal: stddev = sqrt(s) /
// 0.87962566103423978; untruncated_normal: stddev = sqrt(s); uniform: limit = sqrt(3 s).
struct VarianceScaling {
  double scale = 1.0;
  std::string mode = "fan_in";                 // fan_in | fan_out | fan_avg
  std::string distribution = "truncated_normal";  // truncated_normal | untruncated_normal | uniform
  std::optional<std::uint64_t> seed = std::nullopt;
  static constexpr const char* class_name = "VarianceScaling";
  Tensor operator()(const Shape& shape, DType dtype) const;
  nlohmann::json get_config() const;
};

#define KEEL_VARIANCE_SCALING_PRESET(Name, scale_, mode_, distribution_)                                         \
  struct Name {                                                                                                  \
    std::optional<std::uint64_t> seed = std::nullopt;                                                                           \
    static constexpr const char* class_name = #Name;                                                             \
    Tensor operator()(const Shape& shape, DType dtype) const {                                                   \
      return VarianceScaling{.scale = scale_, .mode = mode_, .distribution = distribution_, .seed = seed}(shape, \
                                                                                                           dtype);  \
    }                                                                                                            \
    nlohmann::json get_config() const { return {{"seed", seed ? nlohmann::json(*seed) : nlohmann::json()}}; }    \
  };
KEEL_VARIANCE_SCALING_PRESET(GlorotUniform, 1.0, "fan_avg", "uniform")
KEEL_VARIANCE_SCALING_PRESET(GlorotNormal, 1.0, "fan_avg", "truncated_normal")
KEEL_VARIANCE_SCALING_PRESET(HeUniform, 2.0, "fan_in", "uniform")
KEEL_VARIANCE_SCALING_PRESET(HeNormal, 2.0, "fan_in", "truncated_normal")
KEEL_VARIANCE_SCALING_PRESET(LecunUniform, 1.0, "fan_in", "uniform")
KEEL_VARIANCE_SCALING_PRESET(LecunNormal, 1.0, "fan_in", "truncated_normal")
#undef KEEL_VARIANCE_SCALING_PRESET

// QR of a normal matrix (rows = all but the last axis), signs fixed by diag(R), times gain.
struct Orthogonal {
  double gain = 1.0;
  std::optional<std::uint64_t> seed = std::nullopt;
  static constexpr const char* class_name = "Orthogonal";
  Tensor operator()(const Shape& shape, DType dtype) const;
  nlohmann::json get_config() const;
};

}  // namespace keel::initializers

namespace keel {

// Any initializer, or a Keras name ("glorot_uniform", "he_normal", "zeros", ...).
class Initializer : public layers::detail::Component<Tensor(const Shape&, DType)> {
 public:
  using Component::Component;
  Initializer(const char* keras_name);
  Initializer(const std::string& keras_name);
};

namespace initializers {
// Rebuilds from Initializer::serialize() output or a Keras name string; ValueError for unknown names.
Initializer deserialize(const nlohmann::json& json);
}  // namespace initializers

}  // namespace keel
