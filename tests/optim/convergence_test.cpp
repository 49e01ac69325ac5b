#include <catch2/catch.hpp>

#include <cmath>
#include <nlohmann/json.hpp>

#include "keel/autograd/engine.h"
#include "keel/autograd/ops.h"
#include "keel/optim/registry.h"

using keel::Tensor;
using keel::Variable;
namespace optim = keel::optim;
using nlohmann::json;

namespace {

// f(w) = Σ cᵢ·(wᵢ − tᵢ)², an ill-conditioned bowl with its minimum at t; returns the final w.
std::vector<double> minimize(optim::Optimizer& optimizer, keel::DType dtype, int steps) {
  Variable w("w", Tensor::from_vector({3.0, -2.0, 0.5, 4.0}, {4}, dtype), true);
  Tensor target = Tensor::from_vector({1.0, -1.0, 2.0, 0.0}, {4}, dtype);
  Tensor curvature = Tensor::from_vector({1.0, 4.0, 0.25, 2.0}, {4}, dtype);
  for (int i = 0; i < steps; ++i) {
    w.zero_grad();
    keel::backward(keel::ops::sum(curvature * keel::ops::square(w.value() - target)));
    optimizer.apply({w});
  }
  return w.value().to_vector();
}

}  // namespace

TEST_CASE("every optimizer minimizes a small quadratic", "[optim]") {
  const std::vector<std::pair<std::string, json>> configs = {
      {"sgd", {{"learning_rate", 0.1}}},
      {"sgd momentum", {{"learning_rate", 0.05}, {"momentum", 0.9}}},
      {"sgd nesterov", {{"learning_rate", 0.05}, {"momentum", 0.9}, {"nesterov", true}}},
      {"adam", {{"learning_rate", 0.05}}},
      {"adam amsgrad", {{"learning_rate", 0.05}, {"amsgrad", true}}},
      {"adamw", {{"learning_rate", 0.05}, {"weight_decay", 1e-4}}},
      {"rmsprop", {{"learning_rate", 0.01}}},
      {"rmsprop centered momentum", {{"learning_rate", 0.005}, {"centered", true}, {"momentum", 0.5}}},
      {"adagrad", {{"learning_rate", 0.5}}},
  };
  const std::vector<std::string> classes = {"SGD", "SGD", "SGD", "Adam", "Adam", "AdamW", "RMSprop", "RMSprop", "Adagrad"};
  for (std::size_t k = 0; k < configs.size(); ++k) {
    for (keel::DType dtype : {keel::DType::float64, keel::DType::float32}) {
      INFO(configs[k].first << " " << keel::dtype_name(dtype));
      auto optimizer = optim::from_config(json{{"class_name", classes[k]}, {"config", configs[k].second}});
      std::vector<double> w = minimize(*optimizer, dtype, 2000);
      std::vector<double> target = {1.0, -1.0, 2.0, 0.0};
      // AdamW's decay pulls the optimum slightly toward 0; everything else reaches t.
      for (std::size_t i = 0; i < w.size(); ++i) CHECK(w[i] == Approx(target[i]).margin(2e-2));
    }
  }
}
