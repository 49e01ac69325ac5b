#include <catch2/catch.hpp>

#include <filesystem>
#include <zlib.h>

#include "keel/core/error.h"
#include "keel/data/datasets.h"
#include "support/temp_dir.h"

using Catch::Matchers::Contains;

namespace {

void write_gz(const std::filesystem::path& path, const std::vector<unsigned char>& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  REQUIRE(f != nullptr);
  REQUIRE(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())) == static_cast<int>(bytes.size()));
  gzclose(f);
}

std::vector<unsigned char> idx_header(unsigned char type_rank, std::vector<std::uint32_t> dims) {
  std::vector<unsigned char> b = {0, 0, 0x08, type_rank};
  for (auto d : dims)
    for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<unsigned char>(d >> s));
  return b;
}

}  // namespace

TEST_CASE("an IDX pair becomes float images in [0, 1], NHWC, and int64 labels", "[data]") {
  keel::test::TempDir dir("datasets");
  auto images = idx_header(3, {2, 2, 3});
  for (unsigned char v : {0, 51, 255, 102, 0, 0, 255, 255, 255, 0, 0, 1}) images.push_back(v);
  auto labels = idx_header(1, {2});
  labels.push_back(7);
  labels.push_back(3);
  write_gz(dir / "train-images-idx3-ubyte.gz", images);
  write_gz(dir / "train-labels-idx1-ubyte.gz", labels);
  keel::datasets::Split s = keel::datasets::load_idx_split(dir.path(), "train");
  CHECK(s.x.shape() == keel::Shape{2, 2, 3, 1});
  CHECK(s.x.dtype() == keel::DType::float32);
  CHECK(s.x.at({0, 0, 1, 0}) == Approx(0.2));
  CHECK(s.x.at({0, 0, 2, 0}) == 1.0);
  CHECK(s.x.at({1, 1, 2, 0}) == Approx(1.0 / 255));
  CHECK(s.y.dtype() == keel::DType::int64);
  CHECK(s.y.to_vector() == std::vector<double>{7, 3});
}

TEST_CASE("a missing data set names the folder and the Debian package", "[data]") {
  keel::test::TempDir dir("datasets_missing");
  REQUIRE_THROWS_AS(keel::datasets::fashion_mnist(dir.path()), keel::IOError);
  REQUIRE_THROWS_WITH(keel::datasets::fashion_mnist(dir.path()),
                      Contains(dir.path().string()) && Contains("dataset-fashion-mnist"));
}

TEST_CASE("Fashion-MNIST from Debian's package has 60000 + 10000 images in [0, 1]", "[data]") {
  if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz")) {
    WARN("dataset-fashion-mnist is not installed; skipped");
    return;
  }
  auto d = keel::datasets::fashion_mnist();
  CHECK(d.train.x.shape() == keel::Shape{60000, 28, 28, 1});
  CHECK(d.test.x.shape() == keel::Shape{10000, 28, 28, 1});
  CHECK(d.test.y.shape() == keel::Shape{10000});
  auto v = d.test.x.narrow(0, 0, 100).to_vector();
  for (double e : v) REQUIRE((e >= 0 && e <= 1));
}
