#pragma once
// Shared checks for the built-in layer tests: float64 scope, value comparison, gradients through
// a layer (input and every weight) against central differences, and config round trips.
#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <vector>

#include "keel/autograd/engine.h"
#include "keel/autograd/gradcheck.h"
#include "keel/autograd/grad_mode.h"
#include "keel/autograd/ops.h"
#include "keel/core/config.h"
#include "keel/core/parallel.h"
#include "keel/core/random.h"
#include "keel/layers/layer.h"
#include "keel/layers/registry.h"

namespace layer_test {

using keel::DType;
using keel::Shape;
using keel::Tensor;

// New layers compute in float64 while it lives.
class Float64Scope {
 public:
  Float64Scope() : previous_(keel::config::floatx()) { keel::config::set_floatx("float64"); }
  ~Float64Scope() { keel::config::set_floatx(previous_); }
  Float64Scope(const Float64Scope&) = delete;
  Float64Scope& operator=(const Float64Scope&) = delete;

 private:
  std::string previous_;
};

inline Tensor uniform(const Shape& shape, std::uint64_t seed, DType dtype = DType::float64) {
  return keel::random::uniform(shape, -1.0, 1.0, seed, dtype);
}

inline void check_values(const Tensor& got, const std::vector<double>& want, double tolerance = 1e-12) {
  std::vector<double> v = got.to_vector();
  REQUIRE(v.size() == want.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    INFO("element " << i);
    CHECK(v[i] == Approx(want[i]).epsilon(tolerance).margin(tolerance));
  }
}

// Each weight's gradient of <r, layer(x)> element by element against central differences taken by
// assigning perturbed weight values (x may be an integer tensor, as Embedding's indices are).
inline void check_weight_gradients(keel::layers::Layer& layer, const Tensor& x) {
  REQUIRE(layer.dtype() == DType::float64);
  if (layer.trainable_weights().empty()) return;
  const Tensor r = uniform(layer(x).shape(), 1234);
  auto objective = [&] { return keel::ops::sum(layer(x) * r); };
  for (const keel::Variable& w : layer.trainable_weights()) w.zero_grad();
  keel::backward(objective());
  const double eps = 1e-6;
  for (const keel::Variable& w : layer.trainable_weights()) {
    INFO("weight " << w.name());
    const std::vector<double> analytic = w.grad().to_vector();
    const std::vector<double> original = w.value().to_vector();
    keel::NoGrad no_grad;
    for (std::size_t i = 0; i < original.size(); ++i) {
      std::vector<double> moved = original;
      moved[i] = original[i] + eps;
      w.assign(Tensor::from_vector(moved, w.shape(), DType::float64));
      const double plus = objective().item();
      moved[i] = original[i] - eps;
      w.assign(Tensor::from_vector(moved, w.shape(), DType::float64));
      const double minus = objective().item();
      const double numeric = (plus - minus) / (2 * eps);
      INFO("element " << i);
      CHECK(std::abs(analytic[i] - numeric) <= 1e-5 + 1e-3 * std::abs(numeric));
    }
    w.assign(Tensor::from_vector(original, w.shape(), DType::float64));
  }
}

// The input gradient by keel::gradcheck, then every weight's (check_weight_gradients).
inline void check_layer_gradients(keel::layers::Layer& layer, const Tensor& x) {
  REQUIRE(layer.dtype() == DType::float64);
  keel::GradcheckResult input = keel::gradcheck([&](const std::vector<Tensor>& in) { return layer(in[0]); }, {x});
  INFO(input.message);
  CHECK(input.ok);
  check_weight_gradients(layer, x);
}

// A training call's output y, then the gradients of Σy² for x and for every trainable weight, flattened.
inline std::vector<double> training_values(keel::layers::Layer& layer, const Tensor& x) {
  Tensor input = x.clone();
  keel::set_requires_grad(input, true);
  Tensor y = layer(input, true);
  for (const keel::Variable& w : layer.trainable_weights()) w.zero_grad();
  keel::backward(keel::ops::sum(y * y));
  std::vector<double> out = y.to_vector();
  std::vector<Tensor> grads = {keel::grad(input)};
  for (const keel::Variable& w : layer.trainable_weights()) grads.push_back(w.grad());
  for (const Tensor& g : grads) {
    std::vector<double> v = g.to_vector();
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}

// training_values gives exactly the same numbers on 1 and 2 threads (layers built by `make`).
template <class Make>
void check_same_on_1_and_2_threads(Make make, const Tensor& x) {
  const int threads = keel::num_threads();
  keel::set_num_threads(1);
  const std::vector<double> one = training_values(*make(), x);
  keel::set_num_threads(2);
  const std::vector<double> two = training_values(*make(), x);
  keel::set_num_threads(threads);
  CHECK(one == two);
}

// Rebuilds the layer through the registry: same config, and with the same weights the same output.
inline keel::layers::LayerPtr check_round_trip(const keel::layers::LayerPtr& layer, const Tensor& x) {
  const Tensor y = (*layer)(x);
  keel::layers::LayerPtr rebuilt = keel::layers::deserialize(layer->serialize());
  REQUIRE(rebuilt);
  CHECK(rebuilt->class_name() == layer->class_name());
  CHECK(rebuilt->get_config() == layer->get_config());
  (*rebuilt)(x);
  rebuilt->set_weights(layer->get_weights());
  CHECK((*rebuilt)(x).to_vector() == y.to_vector());
  return rebuilt;
}

}  // namespace layer_test
