#include "keel/data/npz.h"

#include <catch2/catch.hpp>

#include <fstream>
#include <string>
#include <vector>

#include "data/npy_files.h"
#include "keel/core/error.h"
#include "support/temp_dir.h"
#include "support/throws.h"

using Catch::Matchers::Contains;
using keel::DType;
using keel::Tensor;
using keel::data::load_npz;
using keel::data::NamedTensors;
namespace fs = std::filesystem;

namespace {

void put_u32(std::string& bytes, std::size_t offset, std::uint32_t value) {
  for (int i = 0; i < 4; ++i) bytes[offset + static_cast<std::size_t>(i)] = static_cast<char>((value >> (8 * i)) & 0xFF);
}

void check_fixture_arrays(const NamedTensors& arrays) {
  CHECK(arrays.names() == std::vector<std::string>{"x", "labels", "mask"});
  CHECK(arrays.at("x").dtype() == DType::float32);
  CHECK(arrays.at("x").shape() == keel::Shape{2, 2});
  CHECK(arrays.at("x").to_vector() == std::vector<double>{1, 2, 3, 4});
  CHECK(arrays.at("labels").dtype() == DType::int64);
  CHECK(arrays.at("labels").to_vector() == std::vector<double>{3, 1});
  CHECK(arrays.at("mask").dtype() == DType::boolean);
  CHECK(arrays.at("mask").to_vector() == std::vector<double>{0, 1});
}

}  // namespace

TEST_CASE("load_npz reads stored and deflated archives written by Python's zipfile as NumPy does",
          "[data][npz]") {
  if (!keel::test::python3_available()) {
    WARN("python3 not found: skipping");
    return;
  }
  keel::test::TempDir dir("npz_python");
  keel::test::write_npy_fixtures(dir.path());
  SECTION("stored, with ZIP64 extra fields in the local headers (numpy.savez)") {
    check_fixture_arrays(load_npz(dir / "savez.npz"));
  }
  SECTION("deflated (numpy.savez_compressed)") { check_fixture_arrays(load_npz(dir / "savez_compressed.npz")); }
  SECTION("an entry that is not an array is refused, naming it") {
    KEEL_CHECK_THROWS(load_npz(dir / "not_npy_entry.npz"), keel::IOError,
                      Contains("not_npy_entry.npz") && Contains("'readme.txt'") && Contains("not a .npy file"));
  }
}

TEST_CASE("save_npz and save_npz_compressed write archives Python's zipfile reads", "[data][npz]") {
  if (!keel::test::python3_available()) {
    WARN("python3 not found: skipping");
    return;
  }
  keel::test::TempDir dir("npz_save");
  const NamedTensors arrays{{"features", Tensor::from_vector({0.5, 1.5, -2, 4}, {2, 2})},
                            {"y", Tensor::from_vector({7, 8}, {2}, DType::int64)},
                            {"\u00e9t\u00e9", Tensor::scalar(1)}};  // a UTF-8 name: the zip's UTF-8 flag is set
  for (bool compressed : {false, true}) {
    INFO("compressed " << compressed);
    const fs::path path = dir / (compressed ? "c.npz" : "s.npz");
    compressed ? keel::data::save_npz_compressed(path, arrays) : keel::data::save_npz(path, arrays);
    const nlohmann::json dumped = keel::test::dump_with_python(path);
    REQUIRE(dumped.size() == 3);
    CHECK(dumped.contains("\u00e9t\u00e9.npy"));
    const int method = compressed ? 8 : 0;
    CHECK(dumped["features.npy"]["compress_type"] == method);
    CHECK(dumped["features.npy"]["descr"] == "<f4");
    CHECK(dumped["features.npy"]["shape"] == nlohmann::json::array({2, 2}));
    CHECK(dumped["features.npy"]["values"] == nlohmann::json::array({0.5, 1.5, -2.0, 4.0}));
    CHECK(dumped["y.npy"]["compress_type"] == method);
    CHECK(dumped["y.npy"]["values"] == nlohmann::json::array({7, 8}));
    const NamedTensors back = load_npz(path);
    CHECK(back.names() == std::vector<std::string>{"features", "y", "\u00e9t\u00e9"});
    CHECK(back.at("features").to_vector() == arrays.at("features").to_vector());
  }
}

TEST_CASE("load_npz refuses corrupt archives with an IOError naming the file", "[data][npz]") {
  keel::test::TempDir dir("npz_bad");
  const NamedTensors arrays{{"a", Tensor::from_vector({1, 2, 3, 4, 5, 6, 7, 8}, {8}, DType::float64)}};
  keel::data::save_npz_compressed(dir / "good.npz", arrays);
  keel::data::save_npz(dir / "stored.npz", arrays);
  const std::string good = keel::test::read_file(dir / "good.npz");
  const std::string stored = keel::test::read_file(dir / "stored.npz");
  const fs::path path = dir / "bad.npz";
  const auto check = [&](const std::string& bytes, const std::string& fragment) {
    INFO(fragment);
    keel::test::write_file(path, bytes);
    KEEL_CHECK_THROWS(load_npz(path), keel::IOError, Contains(path.string()) && Contains(fragment));
  };
  // Layout of a one-entry archive keel writes: local header (30 bytes) + "a.npy" + data, central
  // directory entry (46 + 5 bytes), end record (22 bytes).
  const std::size_t central = good.size() - 22 - 51;
  check("", "not a zip archive");
  check(std::string(100, 'x'), "no end-of-central-directory record");
  check(good.substr(0, good.size() - 1), "no end-of-central-directory record");
  check(good.substr(20), "central directory");
  {
    std::string flipped = stored;
    flipped[35 + 100] ^= 0x01;  // a data byte of the stored entry
    check(flipped, "fails its CRC-32 check");
  }
  {
    std::string flipped = good;
    flipped[35] = static_cast<char>(0xFF);  // the first deflate block header: an invalid block type
    check(flipped, "does not inflate");
  }
  {
    // A deflated entry claiming a decompressed size beyond deflate's 1032:1 limit: refused unallocated.
    std::string bomb = good;
    put_u32(bomb, central + 24, 0xFFFFFFF0u);
    put_u32(bomb, 22, 0xFFFFFFF0u);
    check(bomb, "more than");
  }
  {
    std::string lie = good;
    put_u32(lie, central + 24, 200);  // uncompressed size in the central directory only
    check(lie, "disagree with the central directory");
  }
  {
    std::string method = good;
    method[central + 10] = 12;  // bzip2
    method[8] = 12;
    check(method, "compression method 12");
  }
  {
    std::string encrypted = good;
    encrypted[central + 8] |= 0x01;
    encrypted[6] |= 0x01;
    check(encrypted, "encrypted");
  }
  {
    std::string offset = good;
    put_u32(offset, central + 42, 7);
    check(offset, "no local header");
  }
  {
    std::string npy = stored;
    npy[30 + 5 + 60] = 'X';  // inside the .npy header's dict
    check(npy, "'a.npy'");
  }
  KEEL_CHECK_THROWS(load_npz(dir / "missing.npz"), keel::IOError, Contains("missing.npz") && Contains("no such file"));
}

TEST_CASE("save_npz refuses an undefined tensor", "[data][npz]") {
  keel::test::TempDir dir("npz_undefined");
  NamedTensors arrays;
  arrays.add("a", Tensor());
  KEEL_CHECK_THROWS(keel::data::save_npz(dir / "x.npz", arrays), keel::ValueError,
                    Contains("x.npz") && Contains("'a'") && Contains("undefined"));
  CHECK(fs::is_empty(dir.path()));
}
