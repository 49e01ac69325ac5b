#include <catch2/catch.hpp>

#include <cmath>

#include "keel/core/error.h"
#include "keel/layers/group_normalization.h"
#include "layer_test_support.h"

using Catch::Matchers::Contains;
using keel::DType;
using keel::Shape;
using keel::Tensor;
namespace layers = keel::layers;
namespace initializers = keel::initializers;
using namespace layer_test;

TEST_CASE("GroupNormalization normalizes each sample's group of channels over all positions", "[layers][group_normalization]") {
  Float64Scope f64;
  // Positions 2, channels 4, groups 2: group 0 holds {1, 2, 5, 6} (mean 3.5), group 1 {3, 4, 7, 8} (mean 5.5),
  // both with variance (2.5² + 1.5² + 1.5² + 2.5²) / 4 = 4.25.
  Tensor x = Tensor::from_vector({1, 2, 3, 4, 5, 6, 7, 8}, {1, 2, 4}, DType::float64);
  auto gn = layers::GroupNormalization({.groups = 2});
  const double s = 1 / std::sqrt(4.25 + 1e-3);
  check_values((*gn)(x), {-2.5 * s, -1.5 * s, -2.5 * s, -1.5 * s, 1.5 * s, 2.5 * s, 1.5 * s, 2.5 * s});
  REQUIRE(gn->weights().size() == 2);
  CHECK(gn->weights()[0].name() == gn->name() + "/gamma");
  CHECK(gn->weights()[1].name() == gn->name() + "/beta");
  CHECK(gn->gamma().shape() == Shape{4});
  gn->set_weights({Tensor::from_vector({1, 2, 1, 1}, {4}, DType::float64), Tensor::from_vector({0, 0, 0, 1}, {4}, DType::float64)});
  check_values((*gn)(x), {-2.5 * s, -3 * s, -2.5 * s, -1.5 * s + 1, 1.5 * s, 5 * s, 1.5 * s, 2.5 * s + 1});
  // channels_first (axis 1) on the transposed input gives the transposed output.
  auto first = layers::GroupNormalization({.groups = 2, .axis = 1});
  Tensor xt = x.permute({0, 2, 1}).contiguous();
  CHECK((*first)(xt).permute({0, 2, 1}).contiguous().to_vector() == (*layers::GroupNormalization({.groups = 2}))(x).to_vector());
}

TEST_CASE("GroupNormalization with one group and with one channel per group", "[layers][group_normalization]") {
  Float64Scope f64;
  Tensor x = uniform({2, 3, 4}, 111);
  // groups = 1: each sample as a whole; groups = C: each channel over the positions (instance normalization).
  std::vector<double> v = x.to_vector();
  auto norm = [](const std::vector<double>& values) {
    double m = 0, var = 0;
    for (double e : values) m += e / double(values.size());
    for (double e : values) var += (e - m) * (e - m) / double(values.size());
    return std::pair{m, 1 / std::sqrt(var + 1e-3)};
  };
  Tensor whole = (*layers::GroupNormalization({.groups = 1}))(x);
  Tensor instance = (*layers::GroupNormalization({.groups = 4}))(x);
  for (int n = 0; n < 2; ++n) {
    auto [m, s] = norm(std::vector<double>(v.begin() + n * 12, v.begin() + (n + 1) * 12));
    for (int i = 0; i < 12; ++i) CHECK(whole.to_vector()[n * 12 + i] == Approx((v[n * 12 + i] - m) * s));
    for (int c = 0; c < 4; ++c) {
      std::vector<double> channel;
      for (int p = 0; p < 3; ++p) channel.push_back(v[n * 12 + p * 4 + c]);
      auto [mc, sc] = norm(channel);
      for (int p = 0; p < 3; ++p)
        CHECK(instance.to_vector()[n * 12 + p * 4 + c] == Approx((channel[p] - mc) * sc));
    }
  }
}

TEST_CASE("GroupNormalization gradients match finite differences", "[layers][group_normalization]") {
  Float64Scope f64;
  auto random_affine = [](std::int64_t groups, std::int64_t axis) {
    return layers::GroupNormalization({.groups = groups, .axis = axis,
                                       .beta_initializer = initializers::RandomUniform{.minval = -1, .maxval = 1, .seed = 2},
                                       .gamma_initializer = initializers::RandomUniform{.minval = 0.5, .maxval = 1.5, .seed = 3}});
  };
  check_layer_gradients(*random_affine(2, -1), uniform({2, 3, 3, 4}, 112));
  check_layer_gradients(*random_affine(3, 1), uniform({2, 6, 2}, 113));
}

TEST_CASE("GroupNormalization keeps float32 accuracy at an offset of 1e4", "[layers][group_normalization]") {
  std::vector<double> v;
  for (double e : uniform({1, 64, 8}, 114, DType::float32).to_vector()) v.push_back(static_cast<float>(1e4 + e));
  Tensor x = Tensor::from_vector(v, {1, 64, 8}, DType::float32);
  std::vector<double> got = (*layers::GroupNormalization({.groups = 1}))(x).to_vector();
  double m = 0, var = 0;
  for (double e : v) m += e / double(v.size());
  for (double e : v) var += (e - m) * (e - m) / double(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) CHECK(std::abs(got[i] - (v[i] - m) / std::sqrt(var + 1e-3)) < 2e-6);
}

TEST_CASE("GroupNormalization forward and backward are bitwise the same on 1 and 2 threads", "[layers][group_normalization]") {
  check_same_on_1_and_2_threads(
      [] { return layers::GroupNormalization({.groups = 4, .gamma_initializer = initializers::RandomUniform{.seed = 4}}); },
      uniform({40, 7, 7, 16}, 116, DType::float32));
}

TEST_CASE("GroupNormalization config round trip and bad arguments", "[layers][group_normalization]") {
  auto gn = layers::GroupNormalization({.groups = 4, .axis = 1, .epsilon = 1e-5, .center = false}, "gn_rt");
  auto rebuilt = check_round_trip(gn, uniform({2, 8, 3}, 115, DType::float32));
  CHECK(rebuilt->get_config()["groups"] == 4);
  CHECK(rebuilt->get_config()["axis"] == 1);
  CHECK(rebuilt->weights().size() == 1);
  CHECK(layers::GroupNormalization()->options().groups == 32);
  CHECK_NOTHROW((*layers::GroupNormalization())(Tensor::ones({1, 2, 64})));
  CHECK((*layers::GroupNormalization({.groups = 2}))(Tensor::ones({0, 3, 4}), true).shape() == Shape{0, 3, 4});
  REQUIRE_THROWS_WITH((*layers::GroupNormalization({}, "gn_default"))(Tensor::ones({1, 2, 16})),
                      Contains("gn_default") && Contains("groups=32") && Contains("16"));
  REQUIRE_THROWS_WITH((*layers::GroupNormalization({.groups = 3}))(Tensor::ones({1, 8})), Contains("groups=3") && Contains("8"));
  REQUIRE_THROWS_WITH(layers::GroupNormalization({.groups = 0}, "gn_zero"), Contains("gn_zero") && Contains("groups") && Contains("0"));
  REQUIRE_THROWS_WITH((*layers::GroupNormalization({.groups = 1, .axis = 0}))(Tensor::ones({2, 4})), Contains("batch axis"));
  REQUIRE_THROWS_AS((*layers::GroupNormalization({.groups = 1, .axis = 3}))(Tensor::ones({2, 4})), keel::ShapeError);
  REQUIRE_THROWS_WITH(layers::GroupNormalization({.epsilon = -0.5}), Contains("epsilon") && Contains("-0.5"));
  REQUIRE_THROWS_AS(layers::GroupNormalizationLayer::from_config({{"groups", 2.5}}), keel::ValueError);
}
