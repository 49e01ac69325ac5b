#include <catch2/catch.hpp>

#include <cmath>

#include "keel/core/error.h"
#include "keel/core/kernels/matmul.h"
#include "keel/core/parallel.h"
#include "keel/core/random.h"

using Catch::Matchers::Contains;
using keel::DType;
using keel::Shape;
using keel::Tensor;

namespace {

// Reference product in long double from the definition.
std::vector<double> naive(const Tensor& a, const Tensor& b) {
  auto m = a.shape()[0], k = a.shape()[1], n = b.shape()[1];
  std::vector<double> out(m * n);
  for (std::int64_t i = 0; i < m; ++i)
    for (std::int64_t j = 0; j < n; ++j) {
      long double s = 0;
      for (std::int64_t p = 0; p < k; ++p) s += (long double)a.at({i, p}) * b.at({p, j});
      out[i * n + j] = static_cast<double>(s);
    }
  return out;
}

}  // namespace

TEST_CASE("matmul of small matrices matches a hand computation") {
  Tensor a = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor b = Tensor::from_vector({7, 8, 9, 10, 11, 12}, {3, 2});
  CHECK(keel::kernels::matmul(a, b).to_vector() == std::vector<double>{58, 64, 139, 154});
}

TEST_CASE("transposed views go through BLAS without changing the result") {
  Tensor a = keel::random::normal({5, 7}, 0, 1, 1, DType::float64);
  Tensor b = keel::random::normal({4, 7}, 0, 1, 2, DType::float64);
  Tensor c = keel::kernels::matmul(a, b.transpose(0, 1));
  auto want = naive(a, b.transpose(0, 1).contiguous());
  auto got = c.to_vector();
  for (std::size_t i = 0; i < want.size(); ++i) CHECK(got[i] == Approx(want[i]).margin(1e-13));
  Tensor d = keel::kernels::matmul(a.transpose(0, 1), a);
  auto want_d = naive(a.transpose(0, 1).contiguous(), a);
  auto got_d = d.to_vector();
  for (std::size_t i = 0; i < want_d.size(); ++i) CHECK(got_d[i] == Approx(want_d[i]).margin(1e-13));
}

TEST_CASE("batched matmul broadcasts a 2-D operand over the batch") {
  Tensor a = keel::random::normal({3, 2, 4}, 0, 1, 3, DType::float64);
  Tensor b = keel::random::normal({4, 5}, 0, 1, 4, DType::float64);
  Tensor c = keel::kernels::matmul(a, b);
  REQUIRE(c.shape() == Shape{3, 2, 5});
  for (std::int64_t i = 0; i < 3; ++i) {
    Tensor ai = a.narrow(0, i, 1).reshape({2, 4});
    auto want = naive(ai, b);
    auto got = c.narrow(0, i, 1).reshape({2, 5}).to_vector();
    for (std::size_t j = 0; j < want.size(); ++j) CHECK(got[j] == Approx(want[j]).margin(1e-13));
  }
}

TEST_CASE("matmul names both shapes when the inner dimensions differ") {
  REQUIRE_THROWS_AS(keel::kernels::matmul(Tensor::zeros({2, 7}), Tensor::zeros({8, 3})), keel::ShapeError);
  REQUIRE_THROWS_WITH(keel::kernels::matmul(Tensor::zeros({2, 7}), Tensor::zeros({8, 3})),
                      Contains("[2, 7]") && Contains("[8, 3]"));
  REQUIRE_THROWS_WITH(keel::kernels::matmul(Tensor::zeros({7}), Tensor::zeros({7, 3})), Contains("rank"));
}

TEST_CASE("float32 GEMM on ill-scaled inputs stays within k*eps*|A||B| of a double reference") {
  // Rows scaled over 8 orders of magnitude. Bound: |C - C_ref| <= k * eps32 * (|A| |B|) elementwise, k = 2 * inner dim.
  const std::int64_t m = 64, k = 300, n = 48;
  Tensor a64 = keel::random::normal({m, k}, 0, 1, 5, DType::float64);
  std::vector<double> av = a64.to_vector();
  for (std::int64_t i = 0; i < m; ++i)
    for (std::int64_t p = 0; p < k; ++p) av[i * k + p] *= std::pow(10.0, (i % 9) - 4);
  Tensor a = Tensor::from_vector(av, {m, k}, DType::float32);
  Tensor b = keel::random::normal({k, n}, 0, 1, 6, DType::float32);
  auto got = keel::kernels::matmul(a, b).to_vector();
  auto ref = naive(a.to(DType::float64), b.to(DType::float64));
  for (std::int64_t i = 0; i < m; ++i)
    for (std::int64_t j = 0; j < n; ++j) {
      long double bound = 0;
      for (std::int64_t p = 0; p < k; ++p) bound += std::abs(a.at({i, p}) * b.at({p, j}));
      REQUIRE(std::abs(got[i * n + j] - ref[i * n + j]) <= 2.0 * k * 1.2e-7 * static_cast<double>(bound));
    }
}

TEST_CASE("a large GEMM split over tasks gives the same bits on 1, 2 and 3 threads") {
  Tensor a = keel::random::normal({512, 300}, 0, 1, 7);
  Tensor b = keel::random::normal({300, 256}, 0, 1, 8);
  std::vector<std::vector<double>> results;
  for (int t : {1, 2, 3}) {
    keel::set_num_threads(t);
    results.push_back(keel::kernels::matmul(a, b).to_vector());
  }
  keel::set_num_threads(0);
  CHECK(results[0] == results[1]);
  CHECK(results[0] == results[2]);
}
