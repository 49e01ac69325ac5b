#include <catch2/catch.hpp>

#include <cmath>

#include "keel/core/error.h"
#include "keel/layers/layer_normalization.h"
#include "layer_test_support.h"

using Catch::Matchers::Contains;
using keel::DType;
using keel::Shape;
using keel::Tensor;
namespace layers = keel::layers;
namespace initializers = keel::initializers;
using namespace layer_test;

namespace {

// Random gamma and beta, so gradients through both are exercised.
layers::LayerNormalizationLayer::Options random_affine(layers::LayerNormalizationLayer::Options o) {
  o.gamma_initializer = initializers::RandomUniform{.minval = 0.5, .maxval = 1.5, .seed = 5};
  o.beta_initializer = initializers::RandomUniform{.minval = -1, .maxval = 1, .seed = 6};
  return o;
}

// (x − mean) / sqrt(var + eps) over all of v, in double.
std::vector<double> normalized(const std::vector<double>& v, double eps) {
  double m = 0, var = 0;
  for (double e : v) m += e / double(v.size());
  for (double e : v) var += (e - m) * (e - m) / double(v.size());
  std::vector<double> out;
  for (double e : v) out.push_back((e - m) / std::sqrt(var + eps));
  return out;
}

}  // namespace

TEST_CASE("LayerNormalization normalizes each sample over the last axis with epsilon 1e-3", "[layers][layer_normalization]") {
  Float64Scope f64;
  auto ln = layers::LayerNormalization();
  Tensor x = Tensor::from_vector({1, 2, 3, 4, -2, 0, 0, 2}, {2, 4}, DType::float64);
  const double s = 1 / std::sqrt(1.25 + 1e-3), t = 1 / std::sqrt(2 + 1e-3);
  check_values((*ln)(x), {-1.5 * s, -0.5 * s, 0.5 * s, 1.5 * s, -2 * t, 0, 0, 2 * t});
  // Weights: gamma then beta, [4] each; then y = x̂·gamma + beta.
  REQUIRE(ln->weights().size() == 2);
  CHECK(ln->weights()[0].name() == ln->name() + "/gamma");
  CHECK(ln->weights()[1].name() == ln->name() + "/beta");
  ln->set_weights({Tensor::from_vector({1, 2, 3, 4}, {4}, DType::float64), Tensor::from_vector({0, 1, 0, -1}, {4}, DType::float64)});
  check_values((*ln)(x), {-1.5 * s, -0.5 * s * 2 + 1, 0.5 * s * 3, 1.5 * s * 4 - 1, -2 * t, 1, 0, 2 * t * 4 - 1});
}

TEST_CASE("LayerNormalization over several axes and its weight shapes", "[layers][layer_normalization]") {
  Float64Scope f64;
  std::vector<double> v = {1, 5, 2, 8, 3, 0, -1, 4, 2, 2, 7, 1};
  Tensor x = Tensor::from_vector(v, {1, 3, 4}, DType::float64);
  auto ln = layers::LayerNormalization({.axis = {1, 2}, .epsilon = 0.01});
  check_values((*ln)(x), normalized(v, 0.01));
  CHECK(ln->gamma().shape() == Shape{3, 4});
  // Keras's weight shape lists the sizes in the order the axes are given.
  auto reversed = layers::LayerNormalization({.axis = {-1, 1}});
  reversed->build_from({2, 3, 4});
  CHECK(reversed->gamma().shape() == Shape{4, 3});
  CHECK(reversed->beta().shape() == Shape{4, 3});
  // Axis 1 of [2, 3, 2]: each (sample, last index) column of 3 values.
  Tensor y = (*layers::LayerNormalization({.axis = {1}}))(
      Tensor::from_vector({0, 1, 3, 1, 6, 1, 1, 1, 1, 1, 1, 4}, {2, 3, 2}, DType::float64));
  const std::vector<double> a = normalized({0, 3, 6}, 1e-3), b = normalized({1, 1, 4}, 1e-3);
  check_values(y.narrow(0, 0, 1), {a[0], 0, a[1], 0, a[2], 0});  // the constant column gives 0
  check_values(y.narrow(0, 1, 1), {0, b[0], 0, b[1], 0, b[2]});
}

TEST_CASE("LayerNormalization center and scale off, and rms_scaling as Keras 3 computes it", "[layers][layer_normalization]") {
  Float64Scope f64;
  Tensor x = Tensor::from_vector({1, 2, 3, 4}, {1, 4}, DType::float64);
  auto bare = layers::LayerNormalization({.center = false, .scale = false});
  CHECK((*bare)(x).shape() == Shape{1, 4});
  CHECK(bare->weights().empty());
  // rms_scaling: x / sqrt(var + eps) · gamma, no mean subtracted, gamma only.
  auto rms = layers::LayerNormalization({.rms_scaling = true});
  const double s = 1 / std::sqrt(1.25 + 1e-3);
  check_values((*rms)(x), {s, 2 * s, 3 * s, 4 * s});
  REQUIRE(rms->weights().size() == 1);
  CHECK(rms->weights()[0].name() == rms->name() + "/gamma");
}

TEST_CASE("LayerNormalization gradients match finite differences on every path", "[layers][layer_normalization]") {
  Float64Scope f64;
  check_layer_gradients(*layers::LayerNormalization(random_affine({})), uniform({3, 5}, 91));
  check_layer_gradients(*layers::LayerNormalization(random_affine({})), uniform({2, 3, 6}, 92));
  check_layer_gradients(*layers::LayerNormalization(random_affine({.axis = {1, 2}})), uniform({2, 3, 4}, 93));
  check_layer_gradients(*layers::LayerNormalization(random_affine({.axis = {1}})), uniform({2, 3, 2}, 94));
  check_layer_gradients(*layers::LayerNormalization(random_affine({.rms_scaling = true})), uniform({3, 4}, 95));
  check_layer_gradients(*layers::LayerNormalization({.center = false}), uniform({3, 4}, 96));
  check_layer_gradients(*layers::LayerNormalization({.scale = false}), uniform({3, 4}, 97));
}

TEST_CASE("LayerNormalization's fused path equals the composed float64 path", "[layers][layer_normalization]") {
  // Over [6, 1, 7], axes {1, 2} (composed) normalize the same 7 values per sample as axis -1 (fused).
  Float64Scope f64;
  Tensor x = uniform({6, 1, 7}, 98);
  auto fused = layers::LayerNormalization(random_affine({}));
  auto composed = layers::LayerNormalization(random_affine({.axis = {1, 2}}));
  composed->build_from({6, 1, 7});
  fused->build_from({6, 1, 7});
  composed->set_weights({fused->gamma().value().reshape({1, 7}), fused->beta().value().reshape({1, 7})});
  check_values((*fused)(x), (*composed)(x).to_vector(), 1e-12);
}

TEST_CASE("LayerNormalization keeps float32 accuracy at an offset of 1e4", "[layers][layer_normalization]") {
  std::vector<double> v;
  Tensor noise = uniform({8, 256}, 99, DType::float32);
  for (double e : noise.to_vector()) v.push_back(static_cast<float>(1e4 + e));
  Tensor x = Tensor::from_vector(v, {8, 256}, DType::float32);
  for (const std::vector<std::int64_t>& axis : {std::vector<std::int64_t>{-1}, std::vector<std::int64_t>{0, 1}}) {
    INFO("axis " << axis.size());
    std::vector<double> got = (*layers::LayerNormalization({.axis = axis}))(x).to_vector();
    std::vector<double> want;
    if (axis.size() == 1) {
      for (std::size_t r = 0; r < 8; ++r) {
        auto row = normalized(std::vector<double>(v.begin() + r * 256, v.begin() + (r + 1) * 256), 1e-3);
        want.insert(want.end(), row.begin(), row.end());
      }
    } else {
      want = normalized(v, 1e-3);
    }
    double worst = 0;
    for (std::size_t i = 0; i < v.size(); ++i) worst = std::max(worst, std::abs(got[i] - want[i]));
    CHECK(worst < 2e-6);
  }
}

TEST_CASE("LayerNormalization forward and backward are bitwise the same on 1 and 2 threads", "[layers][layer_normalization]") {
  check_same_on_1_and_2_threads([] { return layers::LayerNormalization(random_affine({})); },
                                uniform({200, 300}, 100, DType::float32));
}

TEST_CASE("LayerNormalization config round trip and bad arguments", "[layers][layer_normalization]") {
  auto ln = layers::LayerNormalization(random_affine({.axis = {1, 2}, .epsilon = 1e-5}), "ln_rt");
  auto rebuilt = check_round_trip(ln, uniform({2, 3, 4}, 101, DType::float32));
  CHECK(rebuilt->get_config()["axis"] == nlohmann::json::array({1, 2}));
  CHECK(check_round_trip(layers::LayerNormalization({.rms_scaling = true}), uniform({2, 3}, 102, DType::float32))
            ->get_config()["axis"] == -1);
  CHECK((*layers::LayerNormalization())(Tensor::ones({0, 4}), true).shape() == Shape{0, 4});
  auto built = layers::LayerNormalization({}, "ln_built");
  (*built)(Tensor::ones({2, 4}));
  REQUIRE_THROWS_WITH((*built)(Tensor::ones({2, 5})), Contains("ln_built") && Contains("[2, 5]"));
  REQUIRE_THROWS_WITH(layers::LayerNormalization({.epsilon = -1}, "ln_eps"), Contains("ln_eps") && Contains("epsilon") && Contains("-1"));
  REQUIRE_THROWS_WITH((*layers::LayerNormalization({.axis = {2}}, "ln_axis"))(Tensor::ones({2, 4})),
                      Contains("ln_axis") && Contains("axis 2") && Contains("[2, 4]"));
  REQUIRE_THROWS_WITH((*layers::LayerNormalization({.axis = {1, -1}}))(Tensor::ones({2, 4})), Contains("twice"));
  REQUIRE_THROWS_AS(layers::LayerNormalization({.axis = {}}), keel::ValueError);
  REQUIRE_THROWS_WITH(layers::LayerNormalizationLayer::from_config({{"epsilon", "small"}}), Contains("epsilon"));
}
