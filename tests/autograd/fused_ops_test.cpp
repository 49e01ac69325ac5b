// The fused forms (bias and ReLU in the GEMM's output pass) equal the ops they replace.
#include <catch2/catch.hpp>

#include "keel/autograd/engine.h"
#include "keel/autograd/ops.h"
#include "keel/core/random.h"

using keel::DType;
using keel::Tensor;
namespace ops = keel::ops;

TEST_CASE("linear with ReLU equals relu(matmul + bias), forward and backward") {
  Tensor x = keel::random::normal({7, 5}, 0, 1, 1), w = keel::random::normal({5, 3}, 0, 1, 2);
  Tensor b = keel::random::normal({3}, 0, 1, 3);
  auto run = [&](bool fused) {
    Tensor xs = keel::set_requires_grad(x.clone()), ws = keel::set_requires_grad(w.clone());
    Tensor bs = keel::set_requires_grad(b.clone());
    Tensor y = fused ? ops::linear(xs, ws, bs, true) : ops::relu(ops::matmul(xs, ws) + bs);
    keel::backward(ops::sum(y * y));
    std::vector<double> all = y.to_vector();
    for (const Tensor& t : {xs, ws, bs}) {
      auto g = keel::grad(t).to_vector();
      all.insert(all.end(), g.begin(), g.end());
    }
    return all;
  };
  auto fused = run(true), plain = run(false);
  REQUIRE(fused.size() == plain.size());
  for (std::size_t i = 0; i < fused.size(); ++i) CHECK(fused[i] == Approx(plain[i]).margin(1e-5));
}

TEST_CASE("conv2d with fused ReLU equals relu(conv2d), forward and backward, both layouts") {
  for (bool channels_first : {false, true}) {
    Tensor x = keel::random::normal(channels_first ? keel::Shape{2, 3, 6, 5} : keel::Shape{2, 6, 5, 3}, 0, 1, 4);
    Tensor k = keel::random::normal({3, 3, 3, 4}, 0, 1, 5), b = keel::random::normal({4}, 0, 1, 6);
    auto run = [&](bool fused) {
      Tensor xs = keel::set_requires_grad(x.clone()), ks = keel::set_requires_grad(k.clone());
      ops::Conv2dOptions o{.channels_first = channels_first, .relu = fused};
      Tensor y = fused ? ops::conv2d(xs, ks, b, o) : ops::relu(ops::conv2d(xs, ks, b, o));
      keel::backward(ops::sum(y * y));
      std::vector<double> all = y.to_vector();
      for (const Tensor& t : {xs, ks}) {
        auto g = keel::grad(t).to_vector();
        all.insert(all.end(), g.begin(), g.end());
      }
      return all;
    };
    CHECK(run(true) == run(false));  // same GEMMs, same order: bitwise
  }
}

// conv2d and linear skip the products whose gradient nobody asked for (the first layer's input, a
// frozen layer's weights); the gradients that are asked for stay exactly the same.
TEST_CASE("conv2d and linear give the same gradients when some inputs need none") {
  Tensor x = keel::random::normal({2, 6, 5, 3}, 0, 1, 7), k = keel::random::normal({3, 3, 3, 4}, 0, 1, 8);
  Tensor b = keel::random::normal({4}, 0, 1, 9);
  Tensor xl = keel::random::normal({6, 5}, 0, 1, 10), w = keel::random::normal({5, 3}, 0, 1, 11);
  Tensor bl = keel::random::normal({3}, 0, 1, 12);
  auto run = [&](bool need_x, bool need_w) {
    Tensor xs = x.clone(), ks = k.clone(), bs = b.clone(), xls = xl.clone(), ws = w.clone(), bls = bl.clone();
    for (Tensor* t : {&xs, &xls}) keel::set_requires_grad(*t, need_x);
    for (Tensor* t : {&ks, &bs, &ws, &bls}) keel::set_requires_grad(*t, need_w);
    Tensor y1 = ops::conv2d(xs, ks, bs, {.relu = true});
    Tensor y2 = ops::linear(xls, ws, bls, true);
    keel::backward(ops::sum(y1 * y1) + ops::sum(y2 * y2));
    std::vector<Tensor> grads;
    for (const Tensor& t : {xs, xls, ks, bs, ws, bls}) grads.push_back(keel::grad(t));
    return grads;
  };
  auto all = run(true, true), inputs_only = run(true, false), weights_only = run(false, true);
  for (int i = 0; i < 2; ++i) {
    CHECK(inputs_only[i].to_vector() == all[i].to_vector());
    CHECK_FALSE(weights_only[i].defined());
  }
  for (int i = 2; i < 6; ++i) {
    CHECK(weights_only[i].to_vector() == all[i].to_vector());
    CHECK_FALSE(inputs_only[i].defined());
  }
}
