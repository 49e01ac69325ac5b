#include <catch2/catch.hpp>

#include <thread>

#include "keel/autograd/engine.h"
#include "keel/autograd/grad_mode.h"
#include "keel/autograd/ops.h"
#include "keel/core/error.h"
#include "keel/core/parallel.h"
#include "keel/core/random.h"

using Catch::Matchers::Contains;
using keel::DType;
using keel::Shape;
using keel::Tensor;
namespace ops = keel::ops;

namespace {
Tensor leaf(std::vector<double> v, Shape s) {
  return keel::set_requires_grad(Tensor::from_vector(v, s, DType::float64));
}
}  // namespace

TEST_CASE("backward applies the chain rule and accumulates over every use of a leaf") {
  Tensor x = leaf({2, 3}, {2});
  // y = sum(x * x + 3x) -> dy/dx = 2x + 3
  Tensor y = ops::sum(x * x + x * 3.0);
  keel::backward(y);
  CHECK(keel::grad(x).to_vector() == std::vector<double>{7, 9});
  // A second graph accumulates into the same grad.
  keel::backward(ops::sum(x * 2.0));
  CHECK(keel::grad(x).to_vector() == std::vector<double>{9, 11});
  keel::zero_grad(x);
  CHECK_FALSE(keel::grad(x).defined());
}

TEST_CASE("the gradient of a broadcast operand is summed back to its shape") {
  Tensor a = leaf({1, 2, 3, 4}, {1, 4});
  Tensor b = leaf(std::vector<double>(12, 1.0), {3, 4});
  keel::backward(ops::sum(a + b));
  CHECK(keel::grad(a).shape() == Shape{1, 4});
  CHECK(keel::grad(a).to_vector() == std::vector<double>{3, 3, 3, 3});
  CHECK(keel::grad(b).shape() == Shape{3, 4});
}

TEST_CASE("a second backward through a freed graph is a usage error - retain_graph keeps it") {
  Tensor x = leaf({1}, {1});
  Tensor y = ops::sum(ops::exp(x));
  keel::backward(y, Tensor(), {.retain_graph = true});
  keel::backward(y);
  CHECK(keel::grad(x).to_vector()[0] == Approx(2 * std::exp(1.0)));
  REQUIRE_THROWS_AS(keel::backward(y), keel::UsageError);
  REQUIRE_THROWS_WITH(keel::backward(y), Contains("second time") && Contains("retain_graph"));
}

TEST_CASE("backward from a non-scalar needs a seed - from a constant is an error") {
  Tensor x = leaf({1, 2}, {2});
  Tensor y = x * 3.0;
  REQUIRE_THROWS_WITH(keel::backward(y), Contains("seed") && Contains("[2]"));
  keel::backward(y, Tensor::from_vector({1.0, 10.0}, {2}, DType::float64));
  CHECK(keel::grad(x).to_vector() == std::vector<double>{3, 30});
  REQUIRE_THROWS_WITH(keel::backward(Tensor::ones({})), Contains("does not require grad"));
}

TEST_CASE("an in-place change to a tensor backward still needs is refused") {
  Tensor x = leaf({1, 2}, {2});
  Tensor w = Tensor::from_vector({3.0, 4.0}, {2}, DType::float64);
  Tensor y = ops::sum(x * w);
  w.fill(0);
  REQUIRE_THROWS_AS(keel::backward(y), keel::UsageError);
  REQUIRE_THROWS_WITH(keel::backward(y), Contains("mul") && Contains("modified in place"));
}

TEST_CASE("NoGrad records nothing, per thread") {
  Tensor x = leaf({1}, {1});
  {
    keel::NoGrad no_grad;
    CHECK_FALSE(keel::requires_grad(x * 2.0));
    bool other_thread_records = false;
    std::thread t([&] { other_thread_records = keel::requires_grad(x * 2.0); });
    t.join();
    CHECK(other_thread_records);
  }
  CHECK(keel::requires_grad(x * 2.0));
}

TEST_CASE("detach cuts a tensor from the tape") {
  Tensor x = leaf({2}, {1});
  Tensor y = ops::sum(x * keel::detach(x));
  keel::backward(y);
  CHECK(keel::grad(x).to_vector() == std::vector<double>{2});
}

TEST_CASE("gradients() returns an undefined tensor for an input the graph does not reach") {
  Tensor x = leaf({1}, {1});
  Tensor unused = leaf({5}, {1});
  auto g = keel::gradients(ops::sum(x * 4.0), {x, unused});
  CHECK(g[0].to_vector() == std::vector<double>{4});
  CHECK_FALSE(g[1].defined());
  CHECK_FALSE(keel::grad(x).defined());  // gradients() leaves .grad alone
}

TEST_CASE("double backward is refused clearly: gradients do not require grad") {
  Tensor x = leaf({3}, {1});
  keel::backward(ops::sum(x * x));
  REQUIRE_THROWS_AS(keel::backward(ops::sum(keel::grad(x))), keel::UsageError);
}

TEST_CASE("set_requires_grad refuses non-float tensors and non-leaves") {
  Tensor i = Tensor::zeros({2}, DType::int64);
  REQUIRE_THROWS_AS(keel::set_requires_grad(i), keel::ValueError);
  Tensor x = leaf({1}, {1});
  Tensor y = x * 2.0;
  REQUIRE_THROWS_WITH(keel::set_requires_grad(y), Contains("not a leaf"));
}

TEST_CASE("backward gives the same bits on 1 and 2 threads and on repeated runs") {
  Tensor a0 = keel::random::normal({256, 300}, 0, 1, 1);
  Tensor b0 = keel::random::normal({300, 200}, 0, 1, 2);
  auto run = [&] {
    Tensor a = keel::set_requires_grad(a0.clone());
    Tensor b = keel::set_requires_grad(b0.clone());
    keel::backward(ops::sum(ops::relu(ops::matmul(a, b)) * 0.5));
    auto ga = keel::grad(a).to_vector(), gb = keel::grad(b).to_vector();
    ga.insert(ga.end(), gb.begin(), gb.end());
    return ga;
  };
  keel::set_num_threads(1);
  auto one = run();
  keel::set_num_threads(2);
  auto two = run(), again = run();
  keel::set_num_threads(0);
  CHECK(one == two);
  CHECK(two == again);
}
