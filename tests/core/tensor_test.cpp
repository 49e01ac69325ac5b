#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "keel/core/error.h"
#include "keel/core/tensor.h"

using Catch::Matchers::Contains;
using keel::DType;
using keel::Shape;
using keel::Tensor;

TEST_CASE("factories give the documented values, shapes and dtypes") {
  Tensor z = Tensor::zeros({2, 3});
  CHECK(z.shape() == Shape{2, 3});
  CHECK(z.dtype() == DType::float32);
  CHECK(z.to_vector() == std::vector<double>(6, 0.0));
  CHECK(Tensor::ones({2}, DType::float64).to_vector() == std::vector<double>{1, 1});
  CHECK(Tensor::full({3}, 2.5).to_vector() == std::vector<double>{2.5, 2.5, 2.5});
  CHECK(Tensor::arange(0, 5, 2).to_vector() == std::vector<double>{0, 2, 4});
  CHECK(Tensor::arange(5, 0, -2, DType::int64).to_vector() == std::vector<double>{5, 3, 1});
  CHECK(Tensor::scalar(3).dim() == 0);
  CHECK(Tensor::scalar(3).item() == 3);
  Tensor v = Tensor::from_vector({1.0, 2.0, 3.0, 4.0}, {2, 2}, DType::float64);
  CHECK(v.at({1, 0}) == 3.0);
  REQUIRE_THROWS_WITH(Tensor::from_vector({1.0, 2.0, 3.0}, {2, 2}), Contains("3 values") && Contains("[2, 2]"));
}

TEST_CASE("a tensor filled from user buffers as docs/tensors.md shows") {
  const std::vector<float> pixels = {0.f, 0.25f, 0.5f, 0.75f, 1.f, 1.25f, 1.5f, 1.75f};  // 2 images, 2x2x1
  const std::int64_t samples = static_cast<std::int64_t>(pixels.size()) / 4;
  Tensor images = Tensor::empty({samples, 2, 2, 1});
  std::copy(pixels.begin(), pixels.end(), images.data<float>());
  CHECK(images.at({1, 0, 1, 0}) == 1.25);
  CHECK(images.at({0, 1, 1, 0}) == 0.75);

  const std::vector<std::int64_t> classes = {3, 1};
  Tensor labels = Tensor::empty({samples}, DType::int64);
  std::copy(classes.begin(), classes.end(), labels.data<std::int64_t>());
  CHECK(labels.to_vector() == std::vector<double>{3, 1});
  REQUIRE_THROWS_AS(labels.data<float>(), keel::ValueError);  // the element type must match the dtype
}

TEST_CASE("storage is 64-byte aligned") {
  Tensor t = Tensor::empty({7});
  CHECK(reinterpret_cast<std::uintptr_t>(t.raw_data()) % 64 == 0);
}

TEST_CASE("copies share storage - clone copies the data") {
  Tensor a = Tensor::zeros({3});
  Tensor b = a;
  b.fill(1);
  CHECK(a.to_vector() == std::vector<double>{1, 1, 1});
  Tensor c = a.clone();
  c.fill(2);
  CHECK(a.to_vector() == std::vector<double>{1, 1, 1});
  CHECK_FALSE(c.shares_storage_with(a));
}

TEST_CASE("reshape views contiguous data, infers one -1 and refuses other sizes") {
  Tensor a = Tensor::arange(0, 12);
  Tensor r = a.reshape({3, -1});
  CHECK(r.shape() == Shape{3, 4});
  CHECK(r.shares_storage_with(a));
  CHECK(r.at({2, 1}) == 9);
  REQUIRE_THROWS_AS(a.reshape({5, 3}), keel::ShapeError);
  REQUIRE_THROWS_WITH(a.reshape({5, 3}), Contains("reshape") && Contains("[12]") && Contains("[5, 3]"));
  REQUIRE_THROWS_WITH(a.reshape({-1, -1}), Contains("only one -1"));
  // A permuted view cannot be reshaped in place: reshape copies.
  Tensor t = r.transpose(0, 1).reshape({12});
  CHECK(t.to_vector() == std::vector<double>{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11});
}

TEST_CASE("permute, transpose, narrow, slice, expand, squeeze and unsqueeze are views with the right values") {
  Tensor a = Tensor::arange(0, 24).reshape({2, 3, 4});
  Tensor p = a.permute({2, 0, 1});
  CHECK(p.shape() == Shape{4, 2, 3});
  CHECK(p.at({3, 1, 2}) == a.at({1, 2, 3}));
  CHECK_FALSE(p.is_contiguous());
  CHECK(p.contiguous().is_contiguous());
  CHECK(p.contiguous().at({3, 1, 2}) == 23);
  Tensor n = a.narrow(2, 1, 2);
  CHECK(n.shape() == Shape{2, 3, 2});
  CHECK(n.at({0, 0, 0}) == 1);
  Tensor s = a.slice(2, 0, 4, 2);
  CHECK(s.shape() == Shape{2, 3, 2});
  CHECK(s.at({1, 2, 1}) == 22);
  CHECK(a.slice(1, -2, 3).shape() == Shape{2, 2, 4});
  Tensor e = Tensor::arange(0, 3).reshape({3, 1}).expand({2, 3, 4});
  CHECK(e.shape() == Shape{2, 3, 4});
  CHECK(e.at({1, 2, 3}) == 2);
  CHECK(a.unsqueeze(0).shape() == Shape{1, 2, 3, 4});
  CHECK(a.unsqueeze(-1).shape() == Shape{2, 3, 4, 1});
  CHECK(a.unsqueeze(3).squeeze(3).shape() == Shape{2, 3, 4});
  REQUIRE_THROWS_WITH(a.squeeze(0), Contains("axis 0 has size 2"));
  REQUIRE_THROWS_WITH(a.narrow(1, 2, 2), Contains("narrow") && Contains("[2, 4)"));
  REQUIRE_THROWS_WITH(a.permute({0, 0, 1}), Contains("twice"));
  REQUIRE_THROWS_WITH(e.expand({2, 4, 4}), Contains("expand"));
  REQUIRE_THROWS_AS(a.transpose(0, 3), keel::ShapeError);
}

TEST_CASE("dtype conversion and copy_from convert values") {
  Tensor f = Tensor::from_vector({1.5, -2.5}, {2});
  CHECK(f.to(DType::int64).to_vector() == std::vector<double>{1, -2});
  CHECK(f.to(DType::float64).dtype() == DType::float64);
  Tensor d = Tensor::zeros({2}, DType::float64);
  d.copy_from(f);
  CHECK(d.to_vector() == std::vector<double>{1.5, -2.5});
  REQUIRE_THROWS_AS(d.copy_from(Tensor::zeros({3})), keel::ShapeError);
  REQUIRE_THROWS_WITH(f.data<double>(), Contains("float32"));
}

TEST_CASE("in-place writes bump the storage version") {
  Tensor t = Tensor::zeros({2});
  auto v0 = t.storage()->version();
  t.fill(3);
  CHECK(t.storage()->version() == v0 + 1);
  t.copy_from(Tensor::ones({2}));
  CHECK(t.storage()->version() == v0 + 2);
}

TEST_CASE("an element count that overflows is refused before allocating") {
  std::int64_t big = std::int64_t{1} << 32;
  REQUIRE_THROWS_AS(Tensor::empty({big, big, big}), keel::ShapeError);
  REQUIRE_THROWS_AS(Tensor::empty({big, big}), keel::ShapeError);  // 2^64 elements: more bytes than addressable
}

TEST_CASE("empty tensors are allowed") {
  Tensor e = Tensor::zeros({0, 3});
  CHECK(e.numel() == 0);
  CHECK(e.to_vector().empty());
  CHECK(e.reshape({3, 0}).shape() == Shape{3, 0});
  CHECK(e.clone().numel() == 0);
}

TEST_CASE("an undefined tensor is a usage error, not a crash") {
  Tensor t;
  CHECK_FALSE(t.defined());
  REQUIRE_THROWS_AS(t.clone(), keel::UsageError);
}

TEST_CASE("a zero-element tensor is contiguous, whatever its other dimensions") {
  constexpr std::int64_t huge = std::int64_t{1} << 40;
  for (const Shape& shape : {Shape{0, huge, huge}, Shape{huge, 0}, Shape{3, 0}}) {
    INFO(keel::to_string(shape));
    Tensor t = Tensor::empty(shape);
    CHECK(t.numel() == 0);
    CHECK(t.is_contiguous());
  }
}
