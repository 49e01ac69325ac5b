#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "keel/core/error.h"
#include "keel/layers/random_flip.h"
#include "keel/layers/random_translation.h"
#include "keel/layers/registry.h"
#include "layer_test_support.h"

using Catch::Matchers::Contains;
using keel::Tensor;
namespace layers = keel::layers;
using namespace layer_test;

namespace {

// Image i of an [N, H, W, C] tensor read at (y, x) through a naive index mapping.
struct Images {
  std::vector<double> v;
  std::int64_t h, w, c;
  explicit Images(const Tensor& t) : v(t.to_vector()), h(t.size(1)), w(t.size(2)), c(t.size(3)) {}
  double at(std::int64_t i, std::int64_t y, std::int64_t x, std::int64_t k) const {
    return v[static_cast<std::size_t>(((i * h + y) * w + x) * c + k)];
  }
};

// Whether image i of `out` is image i of `in` read through (y, x) -> (fy ? h-1-y : y, fx ? w-1-x : x).
bool is_mapped(const Images& in, const Images& out, std::int64_t i, bool fy, bool fx) {
  for (std::int64_t y = 0; y < in.h; ++y)
    for (std::int64_t x = 0; x < in.w; ++x)
      for (std::int64_t k = 0; k < in.c; ++k)
        if (out.at(i, y, x, k) != in.at(i, fy ? in.h - 1 - y : y, fx ? in.w - 1 - x : x, k)) return false;
  return true;
}

// Counts the images that came out unchanged and flipped as (fy, fx); every image must be one or the other.
std::pair<int, int> count_flips(const Tensor& x, const Tensor& y, bool fy, bool fx) {
  Images in(x), out(y);
  int same = 0, flipped = 0;
  for (std::int64_t i = 0; i < x.size(0); ++i) {
    if (is_mapped(in, out, i, false, false)) ++same;
    else if (is_mapped(in, out, i, fy, fx)) ++flipped;
  }
  CHECK(same + flipped == x.size(0));
  return {same, flipped};
}

}  // namespace

TEST_CASE("RandomFlip is the identity outside training", "[layers][random_flip]") {
  Tensor x = uniform({3, 4, 5, 2}, 30, keel::DType::float32);
  CHECK((*layers::RandomFlip({}))(x).to_vector() == x.to_vector());
  CHECK((*layers::RandomFlip({.mode = "horizontal"}))(x, false).to_vector() == x.to_vector());
  CHECK((*layers::RandomFlip({}))(x, true).shape() == x.shape());
}

TEST_CASE("RandomFlip horizontal mirrors a hand-worked image left to right", "[layers][random_flip]") {
  // One 2x3 image, two channels (the second is minus the first); flipped it reads [[3 2 1] [6 5 4]].
  Tensor x = Tensor::from_vector({1, -1, 2, -2, 3, -3, 4, -4, 5, -5, 6, -6}, {1, 2, 3, 2});
  const std::vector<double> flipped = {3, -3, 2, -2, 1, -1, 6, -6, 5, -5, 4, -4};
  auto flip = layers::RandomFlip({.mode = "horizontal", .seed = 11});
  bool saw_flip = false, saw_same = false;
  for (int call = 0; call < 40; ++call) {
    std::vector<double> y = (*flip)(x, true).to_vector();
    if (y == flipped) saw_flip = true;
    else if (y == x.to_vector()) saw_same = true;
    else FAIL("neither the image nor its mirror");
  }
  CHECK(saw_flip);
  CHECK(saw_same);
}

TEST_CASE("RandomFlip flips each image with probability one half along the mode's axes", "[layers][random_flip]") {
  Tensor x = uniform({400, 3, 4, 2}, 31, keel::DType::float32);
  const double se = std::sqrt(0.25 / 400.0);
  struct Case {
    const char* mode;
    bool fy, fx;
  };
  for (Case c : {Case{"horizontal", false, true}, Case{"vertical", true, false}, Case{"horizontal_and_vertical", true, true}}) {
    INFO(c.mode);
    auto [same, flipped] = count_flips(x, (*layers::RandomFlip({.mode = c.mode, .seed = 5}))(x, true), c.fy, c.fx);
    CHECK(double(flipped) / 400.0 == Approx(0.5).margin(5 * se));
  }
}

TEST_CASE("a seeded RandomFlip draws a reproducible sequence of flips", "[layers][random_flip]") {
  Tensor x = uniform({64, 2, 3, 1}, 32, keel::DType::float32);
  auto a = layers::RandomFlip({.mode = "horizontal", .seed = 9}), b = layers::RandomFlip({.mode = "horizontal", .seed = 9});
  std::vector<double> a1 = (*a)(x, true).to_vector(), a2 = (*a)(x, true).to_vector();
  CHECK(a1 != a2);
  CHECK((*b)(x, true).to_vector() == a1);
  CHECK((*b)(x, true).to_vector() == a2);
  CHECK((*layers::RandomFlip({.mode = "horizontal", .seed = 10}))(x, true).to_vector() != a1);
  auto rebuilt = layers::deserialize(layers::RandomFlip({.mode = "horizontal", .seed = 9})->serialize());
  CHECK((*rebuilt)(x, true).to_vector() == a1);
}

TEST_CASE("RandomFlip takes a single unbatched image", "[layers][random_flip]") {
  Tensor x = Tensor::from_vector({1, 2, 3, 4}, {2, 2, 1});
  auto flip = layers::RandomFlip({.mode = "vertical", .seed = 3});
  for (int call = 0; call < 8; ++call) {
    Tensor y = (*flip)(x, true);
    CHECK(y.shape() == keel::Shape{2, 2, 1});
    CHECK((y.to_vector() == std::vector<double>{1, 2, 3, 4} || y.to_vector() == std::vector<double>{3, 4, 1, 2}));
  }
}

TEST_CASE("RandomFlip's gradient reaches each input pixel at its flipped position", "[layers][random_flip]") {
  Float64Scope f64;
  Tensor x = uniform({16, 3, 2, 1}, 33);
  keel::set_requires_grad(x, true);
  Tensor r = uniform({16, 3, 2, 1}, 34);
  Tensor y = (*layers::RandomFlip({.mode = "horizontal_and_vertical", .seed = 4}))(x, true);
  keel::backward(keel::ops::sum(y * r));
  Images in(x), out(y), weights(r), grad(keel::grad(x));
  for (std::int64_t i = 0; i < 16; ++i) {
    const bool flipped = !is_mapped(in, out, i, false, false);
    for (std::int64_t row = 0; row < 3; ++row)
      for (std::int64_t col = 0; col < 2; ++col)
        CHECK(grad.at(i, row, col, 0) == weights.at(i, flipped ? 2 - row : row, flipped ? 1 - col : col, 0));
  }
}

TEST_CASE("RandomFlip config round trip and bad arguments", "[layers][random_flip]") {
  auto flip = layers::RandomFlip({.mode = "vertical", .seed = 8}, "flip_rt");
  auto rebuilt = check_round_trip(flip, uniform({2, 3, 3, 1}, 35, keel::DType::float32));
  CHECK(rebuilt->get_config()["mode"] == "vertical");
  CHECK(rebuilt->get_config()["seed"] == 8);
  CHECK(layers::RandomFlip({})->get_config()["seed"].is_null());
  CHECK(layers::RandomFlip({})->get_config()["mode"] == "horizontal_and_vertical");
  REQUIRE_THROWS_WITH(layers::RandomFlip({.mode = "diagonal"}, "flip_bad"),
                      Contains("flip_bad") && Contains("mode") && Contains("diagonal"));
  nlohmann::json config = flip->serialize();
  config["config"]["data_format"] = "channels_first";
  REQUIRE_THROWS_WITH(layers::deserialize(config), Contains("RandomFlip") && Contains("data_format"));
  REQUIRE_THROWS_AS((*layers::RandomFlip({}))(Tensor::ones({4, 4}), true), keel::ShapeError);
}

// Data-parallel replicas call the layer on their share of the global batch with first_sample set;
// the images must come out as in one call on the whole batch.
TEST_CASE("RandomFlip and RandomTranslation draw per global sample when a batch is split", "[layers][random_flip]") {
  Tensor x = uniform({10, 4, 5, 2}, 33, keel::DType::float32);
  auto run = [&](const layers::LayerPtr& a, const layers::LayerPtr& b) {
    Tensor whole = (*a)(x, true);
    Tensor head = (*b)(x.narrow(0, 0, 6), layers::CallContext{.training = true, .first_sample = 0});
    // The second replica's layer is a separate copy with the same seed, as on another process.
    auto c = layers::deserialize(b->serialize());
    Tensor tail = (*c)(x.narrow(0, 6, 4), layers::CallContext{.training = true, .first_sample = 6});
    CHECK(head.to_vector() == whole.narrow(0, 0, 6).to_vector());
    CHECK(tail.to_vector() == whole.narrow(0, 6, 4).to_vector());
  };
  run(layers::RandomFlip({.mode = "horizontal", .seed = 5}), layers::RandomFlip({.mode = "horizontal", .seed = 5}));
  run(layers::RandomTranslation({.height_factor = 0.3, .width_factor = 0.3, .seed = 6}),
      layers::RandomTranslation({.height_factor = 0.3, .width_factor = 0.3, .seed = 6}));
}
