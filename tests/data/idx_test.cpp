#include <catch2/catch.hpp>
#include <zlib.h>

#include <array>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "keel/core/error.h"
#include "keel/data/idx.h"
#include "support/temp_dir.h"

using Catch::Matchers::Contains;
using keel::data::read_idx;
using keel::data::read_idx_pair;
using Bytes = std::vector<std::uint8_t>;
namespace fs = std::filesystem;

namespace {

// An IDX file's bytes, assembled by hand: 0, 0, type, rank, big-endian dims, then the payload.
Bytes idx_bytes(std::uint8_t type, const std::vector<std::uint32_t>& dims, const Bytes& payload) {
  Bytes out{0, 0, type, static_cast<std::uint8_t>(dims.size())};
  for (std::uint32_t d : dims) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(d >> shift));
  }
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

Bytes pattern(std::size_t n) {
  Bytes v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::uint8_t>((i * 37 + 11) % 256);
  return v;
}

void write_plain(const fs::path& path, const Bytes& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(f.good());
}

void write_gz(const fs::path& path, const Bytes& bytes, const char* mode = "wb9") {
  gzFile f = gzopen(path.c_str(), mode);
  REQUIRE(f != nullptr);
  REQUIRE(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())) == static_cast<int>(bytes.size()));
  REQUIRE(gzclose(f) == Z_OK);
}

Bytes read_file_bytes(const fs::path& path) {
  std::ifstream f(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

void require_io_error(const fs::path& path, const std::string& fragment) {
  REQUIRE_THROWS_AS(read_idx(path), keel::IOError);
  REQUIRE_THROWS_WITH(read_idx(path), Contains(path.string()) && Contains(fragment));
}

}  // namespace

TEST_CASE("read_idx reads plain and gzipped unsigned-byte files back exactly", "[data]") {
  keel::test::TempDir dir("idx_good");
  const std::vector<std::vector<std::uint32_t>> shapes = {{7}, {3, 5}, {2, 3, 4}, {2, 1, 3, 2}, {300, 17, 13}};
  for (const auto& dims : shapes) {
    std::size_t n = 1;
    for (auto d : dims) n *= d;
    const Bytes payload = pattern(n);
    const Bytes file = idx_bytes(0x08, dims, payload);
    write_plain(dir / "a.idx", file);
    write_gz(dir / "a.idx.gz", file);
    const std::vector<std::int64_t> expected_dims(dims.begin(), dims.end());
    for (const fs::path& p : {dir / "a.idx", dir / "a.idx.gz"}) {
      const keel::data::IdxArray a = read_idx(p);
      CHECK(a.dims == expected_dims);
      CHECK(a.values == payload);
    }
  }
}

TEST_CASE("read_idx refuses a missing file naming the path", "[data]") {
  keel::test::TempDir dir("idx_missing");
  require_io_error(dir / "nothing-here-ubyte.gz", "no such file");
}

TEST_CASE("read_idx reports a plain file truncated at any length as truncated", "[data]") {
  keel::test::TempDir dir("idx_trunc");
  const Bytes file = idx_bytes(0x08, {2, 3, 4}, pattern(24));
  for (std::size_t len = 0; len < file.size(); ++len) {
    INFO("length " << len);
    write_plain(dir / "t.idx", Bytes(file.begin(), file.begin() + static_cast<std::ptrdiff_t>(len)));
    require_io_error(dir / "t.idx", "truncated");
  }
}

TEST_CASE("read_idx reports gzipped data truncated before or after compression", "[data]") {
  keel::test::TempDir dir("idx_trunc_gz");
  const Bytes file = idx_bytes(0x08, {4, 5, 6}, pattern(120));
  // The decompressed content is short: compressed correctly, but with fewer bytes than the dims say.
  for (std::size_t len : {std::size_t{2}, std::size_t{10}, std::size_t{16}, std::size_t{17}, std::size_t{100},
                          file.size() - 1}) {
    INFO("decompressed length " << len);
    write_gz(dir / "t.gz", Bytes(file.begin(), file.begin() + static_cast<std::ptrdiff_t>(len)));
    require_io_error(dir / "t.gz", "truncated");
  }
  // The compressed stream itself is cut, anywhere from inside the gzip header to inside its trailer.
  write_gz(dir / "full.gz", file);
  const Bytes gz = read_file_bytes(dir / "full.gz");
  for (std::size_t len = 2; len < gz.size(); ++len) {
    INFO("compressed length " << len << " of " << gz.size());
    write_plain(dir / "cut.gz", Bytes(gz.begin(), gz.begin() + static_cast<std::ptrdiff_t>(len)));
    require_io_error(dir / "cut.gz", "truncated");
  }
}

TEST_CASE("read_idx refuses bad magic, other type codes and bad ranks", "[data]") {
  keel::test::TempDir dir("idx_magic");
  Bytes file = idx_bytes(0x08, {2, 2}, pattern(4));
  file[0] = 0x01;
  write_plain(dir / "m.idx", file);
  require_io_error(dir / "m.idx", "bad magic");
  require_io_error(dir / "m.idx", "0x01 0x00");

  write_gz(dir / "float.gz", idx_bytes(0x0D, {2, 2}, pattern(16)));
  require_io_error(dir / "float.gz", "type code 0x0d (float32) is not supported");
  write_plain(dir / "int.idx", idx_bytes(0x0C, {2}, pattern(8)));
  require_io_error(dir / "int.idx", "0x0c (int32)");
  write_plain(dir / "odd.idx", idx_bytes(0x42, {2}, pattern(2)));
  require_io_error(dir / "odd.idx", "unknown IDX type code 0x42");

  write_plain(dir / "r0.idx", idx_bytes(0x08, {}, pattern(1)));
  require_io_error(dir / "r0.idx", "rank 0");
  write_plain(dir / "r5.idx", idx_bytes(0x08, {1, 1, 1, 1, 1}, pattern(1)));
  require_io_error(dir / "r5.idx", "rank 5");
}

TEST_CASE("read_idx refuses zero and absurd dimensions before allocating", "[data]") {
  keel::test::TempDir dir("idx_dims");
  write_plain(dir / "z.idx", idx_bytes(0x08, {3, 0, 2}, {}));
  require_io_error(dir / "z.idx", "dimension 1 of [3, 0, 2] is 0");

  // 2^128 elements would overflow any counter; 2^32-1 elements cannot fit in a few bytes either.
  const std::uint32_t max = 0xFFFFFFFFu;
  for (const auto& dims : std::vector<std::vector<std::uint32_t>>{{max, max, max, max}, {max}, {60000, 28, 28}}) {
    write_plain(dir / "h.idx", idx_bytes(0x08, dims, pattern(64)));
    require_io_error(dir / "h.idx", "truncated");
    write_gz(dir / "h.gz", idx_bytes(0x08, dims, pattern(64)));
    require_io_error(dir / "h.gz", "more data than a gzip file of this size can hold");
  }
}

TEST_CASE("read_idx refuses trailing bytes after the data", "[data]") {
  keel::test::TempDir dir("idx_trailing");
  Bytes file = idx_bytes(0x08, {2, 3}, pattern(6));
  file.push_back(0);
  file.push_back(7);
  write_plain(dir / "t.idx", file);
  require_io_error(dir / "t.idx", "2 trailing bytes after the 6 data bytes");
  write_gz(dir / "t.gz", file);
  require_io_error(dir / "t.gz", "2 trailing bytes");
}

TEST_CASE("read_idx surfaces corrupted gzip streams as IOError", "[data]") {
  keel::test::TempDir dir("idx_corrupt");
  const Bytes file = idx_bytes(0x08, {8, 8}, pattern(64));

  // Stored (level 0) deflate: a flipped payload byte decodes fine, so only the CRC-32 trailer catches it.
  write_gz(dir / "stored.gz", file, "wb0");
  Bytes gz = read_file_bytes(dir / "stored.gz");
  gz[gz.size() - 8 - 20] ^= 0x10;
  write_plain(dir / "stored.gz", gz);
  require_io_error(dir / "stored.gz", "corrupted gzip stream (zlib: incorrect data check)");

  // Every single-byte flip of a compressed file is refused, or (in a header field such as the
  // timestamp) changes nothing that is read.
  write_gz(dir / "full.gz", file);
  const Bytes original = read_file_bytes(dir / "full.gz");
  int refused = 0;
  for (std::size_t pos = 0; pos < original.size(); ++pos) {
    Bytes flipped = original;
    flipped[pos] ^= 0x5A;
    write_plain(dir / "flip.gz", flipped);
    INFO("flipped byte " << pos << " of " << original.size());
    try {
      const keel::data::IdxArray a = read_idx(dir / "flip.gz");
      CHECK(a.values == pattern(64));
      CHECK(a.dims == std::vector<std::int64_t>{8, 8});
    } catch (const keel::IOError& e) {
      CHECK_THAT(e.what(), Contains((dir / "flip.gz").string()));
      ++refused;
    }
  }
  CHECK(refused >= static_cast<int>(original.size()) - 10);  // only header bytes may be harmless
}

namespace {

void write_pair(const keel::test::TempDir& dir, const std::string& prefix, const std::vector<std::uint32_t>& image_dims,
                const std::vector<std::uint32_t>& label_dims) {
  std::size_t ni = 1, nl = 1;
  for (auto d : image_dims) ni *= d;
  for (auto d : label_dims) nl *= d;
  write_gz(dir / (prefix + "-images-idx3-ubyte.gz"), idx_bytes(0x08, image_dims, pattern(ni)));
  write_plain(dir / (prefix + "-labels-idx1-ubyte"), idx_bytes(0x08, label_dims, pattern(nl)));
}

}  // namespace

TEST_CASE("read_idx_pair reads matching images and labels, gzipped or plain", "[data]") {
  keel::test::TempDir dir("idx_pair");
  write_pair(dir, "train", {5, 4, 3}, {5});
  const keel::data::IdxDataset ds = read_idx_pair(dir.path(), "train");
  CHECK(ds.images.dims == std::vector<std::int64_t>{5, 4, 3});
  CHECK(ds.images.values == pattern(60));
  CHECK(ds.labels.dims == std::vector<std::int64_t>{5});
  CHECK(ds.labels.values == pattern(5));
}

TEST_CASE("read_idx_pair checks ranks and counts and names both counts", "[data]") {
  keel::test::TempDir dir("idx_pair_bad");
  write_pair(dir, "train", {3, 2, 2}, {2});
  REQUIRE_THROWS_AS(read_idx_pair(dir.path(), "train"), keel::IOError);
  REQUIRE_THROWS_WITH(read_idx_pair(dir.path(), "train"),
                      Contains("count mismatch") && Contains("3 images") && Contains("2 labels"));
  write_pair(dir, "t10k", {3, 4}, {3});
  REQUIRE_THROWS_WITH(read_idx_pair(dir.path(), "t10k"), Contains("images must be rank 3") && Contains("[3, 4]"));
  write_pair(dir, "val", {3, 2, 2}, {3, 1});
  REQUIRE_THROWS_WITH(read_idx_pair(dir.path(), "val"), Contains("labels must be rank 1") && Contains("[3, 1]"));
}

TEST_CASE("read_idx_pair on a missing folder points at the Debian package and KEEL_DATA_DIR", "[data]") {
  keel::test::TempDir dir("idx_pair_missing");
  REQUIRE_THROWS_AS(read_idx_pair(dir / "absent", "t10k"), keel::IOError);
  REQUIRE_THROWS_WITH(read_idx_pair(dir / "absent", "t10k"),
                      Contains("t10k-images-idx3-ubyte.gz") && Contains("dataset-fashion-mnist") &&
                          Contains("KEEL_DATA_DIR"));
}

TEST_CASE("default_fashion_mnist_dir honours KEEL_DATA_DIR", "[data]") {
  const char* old = std::getenv("KEEL_DATA_DIR");
  const std::string saved = old != nullptr ? old : "";
  ::setenv("KEEL_DATA_DIR", "/tmp/some/where", 1);
  CHECK(keel::data::default_fashion_mnist_dir() == fs::path("/tmp/some/where"));
  ::unsetenv("KEEL_DATA_DIR");
  CHECK(keel::data::default_fashion_mnist_dir() == fs::path("/usr/share/datasets/fashion-mnist"));
  if (old != nullptr) ::setenv("KEEL_DATA_DIR", saved.c_str(), 1);
}

TEST_CASE("read_idx_pair reads the real Fashion-MNIST sets", "[data]") {
  const fs::path dir = keel::data::default_fashion_mnist_dir();
  if (!fs::exists(dir / "t10k-images-idx3-ubyte.gz") && !fs::exists(dir / "t10k-images-idx3-ubyte")) {
    WARN("Fashion-MNIST not found in " << dir << " (apt-get install dataset-fashion-mnist); test skipped");
    return;
  }
  // Published properties: 10000 test and 60000 training images of 28x28, every one of the 10 classes
  // exactly 1000 (test) and 6000 (train) times; the first test image is an ankle boot (class 9).
  for (const auto& [prefix, count] : {std::pair<std::string, std::int64_t>{"t10k", 10000}, {"train", 60000}}) {
    INFO(prefix);
    const keel::data::IdxDataset ds = read_idx_pair(dir, prefix);
    CHECK(ds.images.dims == std::vector<std::int64_t>{count, 28, 28});
    CHECK(ds.labels.dims == std::vector<std::int64_t>{count});
    CHECK(ds.images.values.size() == static_cast<std::size_t>(count * 28 * 28));
    std::array<std::int64_t, 256> histogram{};
    for (std::uint8_t label : ds.labels.values) ++histogram[label];
    for (int c = 0; c < 10; ++c) CHECK(histogram[static_cast<std::size_t>(c)] == count / 10);
    if (prefix == "t10k") CHECK(ds.labels.values[0] == 9);
  }
}
