// Initializers against docs/semantics.md §3: statistics of large draws, fans, truncation, seeds, configs.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

#include "keel/core/error.h"
#include "keel/core/parallel.h"
#include "keel/layers/initializers.h"

using Catch::Matchers::Contains;
using keel::DType;
using keel::Initializer;
using keel::Shape;
using keel::Tensor;
namespace init = keel::initializers;

namespace {

struct Stats {
  double mean, stddev, min, max;
};

Stats stats_of(const Tensor& t) {
  std::vector<double> v = t.to_vector();
  double sum = 0, sq = 0;
  for (double x : v) sum += x;
  const double mean = sum / double(v.size());
  for (double x : v) sq += (x - mean) * (x - mean);
  return {mean, std::sqrt(sq / double(v.size())), *std::min_element(v.begin(), v.end()),
          *std::max_element(v.begin(), v.end())};
}

// Checks a uniform(-limit, limit) draw: bounds hit closely, mean 0, std limit/sqrt(3).
void check_uniform(const Tensor& t, double limit) {
  Stats s = stats_of(t);
  const double n = double(t.numel());
  CHECK(s.min >= -limit);
  CHECK(s.max <= limit);
  CHECK(s.max > 0.99 * limit);
  CHECK(s.min < -0.99 * limit);
  CHECK(std::abs(s.mean) < 4 * limit / std::sqrt(3 * n));
  // The sample stddev's relative standard error is about 1/sqrt(2n): allow five of them.
  CHECK(s.stddev == Approx(limit / std::sqrt(3.0)).epsilon(std::max(0.01, 5 / std::sqrt(2 * n))));
}

// Checks a Keras truncated normal whose untruncated stddev is `sigma`: within ±2 sigma, and the
// realized stddev is sigma * 0.87962566103423978 (the stddev of a standard normal cut at ±2).
void check_truncated(const Tensor& t, double mean, double sigma) {
  Stats s = stats_of(t);
  CHECK(s.min >= mean - 2 * sigma);
  CHECK(s.max <= mean + 2 * sigma);
  CHECK(s.max > mean + 1.95 * sigma);
  CHECK(std::abs(s.mean - mean) < 4 * sigma / std::sqrt(double(t.numel())));
  CHECK(s.stddev == Approx(sigma * 0.87962566103423978).epsilon(std::max(0.01, 5 / std::sqrt(2.0 * double(t.numel())))));
}

}  // namespace

TEST_CASE("fans follow Keras for dense, conv, vector and scalar shapes", "[layers][initializers]") {
  auto dense = init::compute_fans({100, 400});
  CHECK(dense.fan_in == 100);
  CHECK(dense.fan_out == 400);
  auto conv = init::compute_fans({3, 3, 16, 32});
  CHECK(conv.fan_in == 3 * 3 * 16);
  CHECK(conv.fan_out == 3 * 3 * 32);
  auto vec = init::compute_fans({7});
  CHECK(vec.fan_in == 7);
  CHECK(vec.fan_out == 7);
  auto scalar = init::compute_fans({});
  CHECK(scalar.fan_in == 1);
  CHECK(scalar.fan_out == 1);
}

TEST_CASE("constant initializers fill exact values", "[layers][initializers]") {
  CHECK(Initializer("zeros")({2, 3}, DType::float64).to_vector() == std::vector<double>(6, 0.0));
  CHECK(Initializer("ones")({4}, DType::float32).to_vector() == std::vector<double>(4, 1.0));
  Initializer c = init::Constant{.value = 3.5};
  CHECK(c({2, 2}, DType::float64).to_vector() == std::vector<double>(4, 3.5));
  CHECK(Initializer("constant")({3}, DType::float64).to_vector() == std::vector<double>(3, 0.0));
}

TEST_CASE("Identity puts gain on the main diagonal and needs rank 2", "[layers][initializers]") {
  Initializer id = init::Identity{.gain = 2.0};
  CHECK(id({2, 3}, DType::float64).to_vector() == std::vector<double>{2, 0, 0, 0, 2, 0});
  CHECK(id({3, 2}, DType::float64).to_vector() == std::vector<double>{2, 0, 0, 2, 0, 0});
  REQUIRE_THROWS_AS(id({2, 2, 2}, DType::float64), keel::ValueError);
  REQUIRE_THROWS_WITH(id({2, 2, 2}, DType::float64), Contains("Identity") && Contains("[2, 2, 2]"));
}

TEST_CASE("random_normal, random_uniform and truncated_normal match their parameters", "[layers][initializers]") {
  Initializer normal = init::RandomNormal{.mean = 1.0, .stddev = 2.0, .seed = 11};
  Stats s = stats_of(normal({300, 200}, DType::float64));
  CHECK(s.mean == Approx(1.0).margin(4 * 2.0 / std::sqrt(60000.0)));
  CHECK(s.stddev == Approx(2.0).epsilon(0.02));
  CHECK(s.max > 1.0 + 3.5 * 2.0);  // untruncated: tails beyond 3.5 sigma occur in 60000 draws

  Initializer uniform = init::RandomUniform{.minval = -1.0, .maxval = 3.0, .seed = 12};
  Stats u = stats_of(uniform({300, 200}, DType::float64));
  CHECK(u.min >= -1.0);
  CHECK(u.max < 3.0);
  CHECK(u.mean == Approx(1.0).margin(0.02));
  CHECK(u.stddev == Approx(4.0 / std::sqrt(12.0)).epsilon(0.02));

  check_truncated(Initializer(init::TruncatedNormal{.mean = 0.5, .stddev = 0.1, .seed = 13})({300, 200}, DType::float64),
                  0.5, 0.1);
}

TEST_CASE("default parameters follow Keras", "[layers][initializers]") {
  Stats n = stats_of(Initializer("random_normal")({300, 200}, DType::float64));
  CHECK(n.stddev == Approx(0.05).epsilon(0.02));
  Stats u = stats_of(Initializer("random_uniform")({300, 200}, DType::float64));
  CHECK(u.min >= -0.05);
  CHECK(u.max <= 0.05);
  check_truncated(Initializer("truncated_normal")({300, 200}, DType::float64), 0.0, 0.05);
}

TEST_CASE("Glorot, He and Lecun use Keras fans for dense and conv kernels", "[layers][initializers]") {
  const Shape dense{100, 400}, conv{3, 3, 16, 32};  // fan_avg 250 | fan_in 144, fan_out 288, fan_avg 216
  check_uniform(Initializer("glorot_uniform")(dense, DType::float64), std::sqrt(6.0 / (100 + 400)));
  check_uniform(Initializer("glorot_uniform")(conv, DType::float64), std::sqrt(6.0 / (144 + 288)));
  check_uniform(Initializer("he_uniform")(conv, DType::float64), std::sqrt(6.0 / 144));
  check_uniform(Initializer("lecun_uniform")(dense, DType::float64), std::sqrt(3.0 / 100));
  const double trunc = 0.87962566103423978;
  check_truncated(Initializer("glorot_normal")(dense, DType::float64), 0.0, std::sqrt(2.0 / 500) / trunc);
  check_truncated(Initializer("he_normal")(conv, DType::float64), 0.0, std::sqrt(2.0 / 144) / trunc);
  check_truncated(Initializer("lecun_normal")(conv, DType::float64), 0.0, std::sqrt(1.0 / 144) / trunc);
}

TEST_CASE("VarianceScaling modes and distributions", "[layers][initializers]") {
  const Shape conv{3, 3, 16, 32};
  Initializer untruncated = init::VarianceScaling{.scale = 3.0, .mode = "fan_out", .distribution = "untruncated_normal"};
  Stats s = stats_of(untruncated(conv, DType::float64));
  const double sigma = std::sqrt(3.0 / 288);
  CHECK(s.stddev == Approx(sigma).epsilon(0.03));
  CHECK(s.max > 2.5 * sigma);  // not truncated
  check_uniform(Initializer(init::VarianceScaling{.scale = 2.0, .mode = "fan_avg", .distribution = "uniform"})(
                    conv, DType::float64),
                std::sqrt(3.0 * 2.0 / 216));
  // A rank-1 shape uses its length as both fans.
  check_uniform(Initializer(init::VarianceScaling{.scale = 0.5, .distribution = "uniform"})({50000}, DType::float64),
                std::sqrt(3.0 * 0.5 / 50000));
  Initializer bad_mode = init::VarianceScaling{.mode = "fan_sideways"};
  REQUIRE_THROWS_WITH(bad_mode({2, 2}, DType::float64), Contains("fan_sideways") && Contains("mode"));
  Initializer bad_dist = init::VarianceScaling{.distribution = "cauchy"};
  REQUIRE_THROWS_AS(bad_dist({2, 2}, DType::float64), keel::ValueError);
  Initializer bad_scale = init::VarianceScaling{.scale = -1.0};
  REQUIRE_THROWS_WITH(bad_scale({2, 2}, DType::float64), Contains("scale"));
}

TEST_CASE("seeded initializers repeat on 1 and 2 threads - unseeded draws differ", "[layers][initializers]") {
  const int threads = keel::num_threads();
  std::vector<Initializer> seeded = {init::HeNormal{.seed = 3}, init::GlorotUniform{.seed = 3},
                                     init::RandomNormal{.seed = 3}, init::TruncatedNormal{.seed = 3},
                                     init::Orthogonal{.seed = 3}};
  for (const Initializer& i : seeded) {
    keel::set_num_threads(1);
    std::vector<double> one = i({256, 300}, DType::float32).to_vector();
    keel::set_num_threads(2);
    std::vector<double> two = i({256, 300}, DType::float32).to_vector();
    CHECK(one == two);
  }
  keel::set_num_threads(threads);
  CHECK(Initializer(init::HeNormal{.seed = 3})({4, 4}, DType::float64).to_vector() !=
        Initializer(init::HeNormal{.seed = 4})({4, 4}, DType::float64).to_vector());
  Initializer unseeded = "glorot_uniform";
  CHECK(unseeded({4, 4}, DType::float64).to_vector() != unseeded({4, 4}, DType::float64).to_vector());
}

TEST_CASE("Orthogonal gives orthonormal columns or rows times gain", "[layers][initializers]") {
  Initializer orth = init::Orthogonal{.gain = 2.0, .seed = 5};
  for (const Shape& shape : {Shape{6, 4}, Shape{4, 6}, Shape{2, 2, 3, 5}}) {
    std::vector<double> q = orth(shape, DType::float64).to_vector();
    const std::int64_t cols = shape.back(), rows = std::int64_t(q.size()) / cols;
    // Gram matrix over the smaller side: QᵀQ (tall) or QQᵀ (wide) equals gain²·I.
    const bool tall = rows >= cols;
    const std::int64_t k = tall ? cols : rows, len = tall ? rows : cols;
    auto at = [&](std::int64_t vec, std::int64_t i) { return tall ? q[i * cols + vec] : q[vec * cols + i]; };
    for (std::int64_t a = 0; a < k; ++a)
      for (std::int64_t b = 0; b < k; ++b) {
        double dot = 0;
        for (std::int64_t i = 0; i < len; ++i) dot += at(a, i) * at(b, i);
        CHECK(dot == Approx(a == b ? 4.0 : 0.0).margin(1e-12));
      }
  }
  REQUIRE_THROWS_AS(orth({5}, DType::float64), keel::ValueError);
}

TEST_CASE("initializers serialize and rebuild with their arguments", "[layers][initializers]") {
  std::vector<Initializer> all = {
      init::Zeros{}, init::Ones{}, init::Constant{.value = 2.5}, init::Identity{.gain = 3.0},
      init::RandomNormal{.mean = 1.0, .stddev = 0.5, .seed = 9}, init::RandomUniform{.minval = -2, .maxval = 1},
      init::TruncatedNormal{.stddev = 0.2, .seed = 1},
      init::VarianceScaling{.scale = 2.0, .mode = "fan_avg", .distribution = "uniform", .seed = 8},
      init::GlorotUniform{.seed = 2}, init::GlorotNormal{}, init::HeUniform{.seed = 6}, init::HeNormal{},
      init::LecunUniform{}, init::LecunNormal{.seed = 4}, init::Orthogonal{.gain = 0.5, .seed = 3}};
  for (const Initializer& i : all) {
    nlohmann::json j = i.serialize();
    Initializer back = init::deserialize(j);
    CHECK(back.serialize() == j);
    if (!j["config"].contains("seed") || !j["config"]["seed"].is_null())
      CHECK(back({3, 4}, DType::float64).to_vector() == i({3, 4}, DType::float64).to_vector());
  }
  CHECK(init::deserialize(Initializer(init::VarianceScaling{.scale = 2.0}).serialize()).as<init::VarianceScaling>()->scale == 2.0);
  CHECK_FALSE(init::deserialize(nullptr));
}

TEST_CASE("initializers by Keras name, and unknown names", "[layers][initializers]") {
  const std::vector<std::pair<const char*, const char*>> names = {
      {"zeros", "Zeros"}, {"ones", "Ones"}, {"constant", "Constant"}, {"identity", "Identity"},
      {"random_normal", "RandomNormal"}, {"random_uniform", "RandomUniform"}, {"truncated_normal", "TruncatedNormal"},
      {"variance_scaling", "VarianceScaling"}, {"glorot_uniform", "GlorotUniform"}, {"glorot_normal", "GlorotNormal"},
      {"he_uniform", "HeUniform"}, {"he_normal", "HeNormal"}, {"lecun_uniform", "LecunUniform"},
      {"lecun_normal", "LecunNormal"}, {"orthogonal", "Orthogonal"}, {"HeNormal", "HeNormal"}};
  for (const auto& [name, cls] : names) CHECK(Initializer(name).class_name() == cls);
  REQUIRE_THROWS_AS(Initializer("he_nromal"), keel::ValueError);
  REQUIRE_THROWS_WITH(Initializer("he_nromal"), Contains("he_nromal") && Contains("unknown initializer"));
  REQUIRE_THROWS_WITH(init::deserialize({{"class_name", "Glorious"}, {"config", nlohmann::json::object()}}),
                      Contains("Glorious"));
}
