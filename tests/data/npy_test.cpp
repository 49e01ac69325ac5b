#include "keel/data/npy.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "data/npy_files.h"
#include "keel/core/error.h"
#include "support/temp_dir.h"
#include "support/throws.h"

using Catch::Matchers::Contains;
using keel::DType;
using keel::Tensor;
using keel::data::load_npy;
using keel::data::save_npy;
namespace fs = std::filesystem;

namespace {

// A version 1.0 .npy file assembled by hand: magic, version, little-endian header length, header, data.
std::string npy_v1(const std::string& header, const std::string& data) {
  std::string out("\x93NUMPY\x01\x00", 8);
  out.push_back(static_cast<char>(header.size() & 0xFF));
  out.push_back(static_cast<char>(header.size() >> 8));
  return out + header + data;
}

template <class T>
std::string raw(const std::vector<T>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
}

}  // namespace

TEST_CASE("load_npy reads a float32 file assembled byte by byte", "[data][npy]") {
  keel::test::TempDir dir("npy");
  keel::test::write_file(dir / "a.npy", npy_v1("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n",
                                    raw<float>({1.5f, -2.0f, 0.25f, 8.0f, -0.5f, 3.0f})));
  Tensor t = load_npy(dir / "a.npy");
  CHECK(t.dtype() == DType::float32);
  CHECK(t.shape() == keel::Shape{2, 3});
  CHECK(t.to_vector() == std::vector<double>{1.5, -2.0, 0.25, 8.0, -0.5, 3.0});

  // NumPy reads any nonzero byte of a bool array as True.
  keel::test::write_file(dir / "b.npy", npy_v1("{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }\n",
                                               std::string("\x00\x02\x01", 3)));
  const std::string file = keel::test::read_file(dir / "b.npy");
  const Tensor decoded = keel::data::decode_npy(std::as_bytes(std::span(file.data(), file.size())), "bytes");
  for (const Tensor& b : {load_npy(dir / "b.npy"), decoded}) {
    CHECK(b.dtype() == DType::boolean);
    CHECK(b.to_vector() == std::vector<double>{0, 1, 1});
    CHECK(*reinterpret_cast<const std::uint8_t*>(b.data<bool>() + 1) == 1);
  }
}

TEST_CASE("load_npy reads every supported dtype as Python's struct module wrote it", "[data][npy]") {
  if (!keel::test::python3_available()) {
    WARN("python3 not found: skipping");
    return;
  }
  keel::test::TempDir dir("npy_python");
  keel::test::write_npy_fixtures(dir.path());
  struct Expected {
    const char* file;
    DType dtype;
    keel::Shape shape;
    std::vector<double> values;
  };
  const std::vector<Expected> cases = {
      {"f4_2x3.npy", DType::float32, {2, 3}, {0.5, -1.25, 3.0, 4.5, double(1e-3f), -7.0}},
      {"f8_4.npy", DType::float64, {4}, {1.0 / 3, -2.5, 1e300, 0.0}},
      {"i4_3.npy", DType::int64, {3}, {-2147483648.0, 0, 2147483647.0}},
      {"u1_5.npy", DType::int64, {5}, {0, 1, 127, 128, 255}},
      {"b1_2x2.npy", DType::boolean, {2, 2}, {1, 0, 0, 1}},
      {"big_endian_i2_3.npy", DType::int64, {3}, {-300, 1, 258}},
      {"big_endian_f8_2.npy", DType::float64, {2}, {1.5, -0.25}},
      // Element [i, j, k] = 6i + 2j + k, stored column-major; keel returns it row-major.
      {"fortran_f8_2x3x2.npy", DType::float64, {2, 3, 2}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}},
      {"scalar_f4.npy", DType::float32, {}, {2.5}},
      {"empty_0x3.npy", DType::float32, {0, 3}, {}},
      {"version2_i8_3.npy", DType::int64, {3}, {7, 8, 9}},
  };
  for (const Expected& e : cases) {
    INFO(e.file);
    Tensor t = load_npy(dir / e.file);
    CHECK(t.dtype() == e.dtype);
    CHECK(t.shape() == e.shape);
    CHECK(t.is_contiguous());
    CHECK(t.to_vector() == e.values);
  }
  // int64's extremes do not survive a trip through double: compare as integers.
  Tensor extremes = load_npy(dir / "i8_2x2.npy");
  REQUIRE(extremes.dtype() == DType::int64);
  const std::int64_t* v = extremes.data<std::int64_t>();
  CHECK(v[0] == std::numeric_limits<std::int64_t>::min());
  CHECK(v[1] == 1);
  CHECK(v[2] == 2);
  CHECK(v[3] == std::numeric_limits<std::int64_t>::max());
}

TEST_CASE("save_npy writes files that Python's reader parses to the same values", "[data][npy]") {
  if (!keel::test::python3_available()) {
    WARN("python3 not found: skipping");
    return;
  }
  keel::test::TempDir dir("npy_save");
  const Tensor f32 = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3}).transpose(0, 1);  // not contiguous
  save_npy(dir / "f32.npy", f32);
  auto dumped = keel::test::dump_with_python(dir / "f32.npy")[""];
  CHECK(dumped["descr"] == "<f4");
  CHECK(dumped["fortran_order"] == false);
  CHECK(dumped["shape"] == nlohmann::json::array({3, 2}));
  CHECK(dumped["values"] == nlohmann::json::array({1, 4, 2, 5, 3, 6}));

  save_npy(dir / "f64.npy", Tensor::from_vector({0.1, -3}, {2}, DType::float64));
  dumped = keel::test::dump_with_python(dir / "f64.npy")[""];
  CHECK(dumped["descr"] == "<f8");
  CHECK(dumped["shape"] == nlohmann::json::array({2}));
  CHECK(dumped["values"] == nlohmann::json::array({0.1, -3.0}));

  save_npy(dir / "i64.npy", Tensor::from_vector({-5, 9}, {2}, DType::int64));
  dumped = keel::test::dump_with_python(dir / "i64.npy")[""];
  CHECK(dumped["descr"] == "<i8");
  CHECK(dumped["values"] == nlohmann::json::array({-5, 9}));

  save_npy(dir / "bool.npy", Tensor::from_vector({1, 0, 1}, {3}, DType::boolean));
  dumped = keel::test::dump_with_python(dir / "bool.npy")[""];
  CHECK(dumped["descr"] == "|b1");
  CHECK(dumped["values"] == nlohmann::json::array({true, false, true}));

  save_npy(dir / "scalar.npy", Tensor::scalar(4.0));
  dumped = keel::test::dump_with_python(dir / "scalar.npy")[""];
  CHECK(dumped["shape"] == nlohmann::json::array());
  CHECK(dumped["values"] == nlohmann::json::array({4.0}));
}

TEST_CASE("save_npy then load_npy returns the same tensor for each keel dtype", "[data][npy]") {
  keel::test::TempDir dir("npy_round_trip");
  for (DType dtype : {DType::float32, DType::float64, DType::int64, DType::boolean}) {
    INFO(keel::dtype_name(dtype));
    const Tensor original = Tensor::from_vector({0, 1, 1, 0, 1, 1}, {3, 1, 2}, dtype);
    save_npy(dir / "t.npy", original);
    const Tensor back = load_npy(dir / "t.npy");
    CHECK(back.dtype() == dtype);
    CHECK(back.shape() == original.shape());
    CHECK(back.to_vector() == original.to_vector());
  }
  // The data starts 64-byte aligned, as NumPy writes it: 10 bytes of prefix, 62 of dict and the newline
  // pad to 128.
  CHECK(fs::file_size(dir / "t.npy") == 128 + 6);
  CHECK(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()) == 1);  // no temp file left
}

TEST_CASE("load_npy refuses a header that claims more data than the file holds, before allocating",
          "[data][npy]") {
  keel::test::TempDir dir("npy_lies");
  const fs::path path = dir / "lies.npy";
  // 2^40 float64 elements (8 TiB) claimed, 16 bytes present.
  keel::test::write_file(path, npy_v1("{'descr': '<f8', 'fortran_order': False, 'shape': (1099511627776,), }\n",
                           raw<double>({1, 2})));
  KEEL_CHECK_THROWS(load_npy(path), keel::IOError,
                    Contains(path.string()) && Contains("truncated") && Contains("8796093022208 bytes") &&
                        Contains("holds 16"));
  keel::test::write_file(path, npy_v1("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }\n", raw<double>({1, 2})));
  KEEL_CHECK_THROWS(load_npy(path), keel::IOError, Contains(path.string()) && Contains("needs 24 bytes"));
  // A product of dimensions that overflows 64 bits.
  keel::test::write_file(path, npy_v1("{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296, 16), }\n", ""));
  KEEL_CHECK_THROWS(load_npy(path), keel::IOError, Contains(path.string()) && Contains("too large"));
  keel::test::write_file(path, npy_v1("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }\n", raw<double>({1, 2})));
  KEEL_CHECK_THROWS(load_npy(path), keel::IOError, Contains(path.string()) && Contains("8 trailing bytes"));
  // A header length past the end of the file.
  keel::test::write_file(path, std::string("\x93NUMPY\x01\x00\xff\x00{'descr'", 17));
  KEEL_CHECK_THROWS(load_npy(path), keel::IOError, Contains(path.string()) && Contains("truncated"));
  keel::test::write_file(path, std::string("\x93NUMPY\x02\x00\xff\xff\xff\x7f", 12));
  KEEL_CHECK_THROWS(load_npy(path), keel::IOError, Contains(path.string()) && Contains("more than the 10000"));
}

TEST_CASE("load_npy names the file and the problem for malformed files", "[data][npy]") {
  keel::test::TempDir dir("npy_bad");
  const fs::path path = dir / "bad.npy";
  const auto check = [&](const std::string& bytes, const std::string& fragment) {
    INFO(fragment);
    keel::test::write_file(path, bytes);
    KEEL_CHECK_THROWS(load_npy(path), keel::IOError, Contains(path.string()) && Contains(fragment));
  };
  const std::string eight(8, '\0');
  check("PK\x03\x04 not npy at all", "does not start with \\x93NUMPY");
  check(std::string("\x93NUMPY\x04\x00\x00\x00", 10), "format version 4.0 is not supported");
  check(npy_v1("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }\n", eight), "'<c8' (complex) is not supported");
  check(npy_v1("{'descr': '<u8', 'fortran_order': False, 'shape': (1,), }\n", eight), "'<u8' (uint64");
  check(npy_v1("{'descr': '<f2', 'fortran_order': False, 'shape': (4,), }\n", eight), "'<f2' (float16)");
  check(npy_v1("{'descr': '<U3', 'fortran_order': False, 'shape': (1,), }\n", eight), "(string)");
  check(npy_v1("{'descr': '<f8', 'shape': (1,), }\n", eight), "needs the keys");
  check(npy_v1("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), 'extra': 1}\n", eight), "key 'extra' is unknown");
  check(npy_v1("{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': (1,)}\n", eight), "key 'descr' is repeated");
  check(npy_v1("{'descr': '<f8', 'fortran_order': False, 'shape': (1), }\n", eight), "'(n,)'");
  check(npy_v1("{'descr': '<f8', 'fortran_order': false, 'shape': (1,), }\n", eight), "expected True or False");
  check(npy_v1("{'descr': '<f8', 'fortran_order': False, 'shape': (-1,), }\n", eight), "non-negative");
  check(npy_v1("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), } x\n", eight), "text after the closing");
  KEEL_CHECK_THROWS(load_npy(dir / "missing.npy"), keel::IOError,
                    Contains((dir / "missing.npy").string()) && Contains("no such file"));
  KEEL_CHECK_THROWS(load_npy(dir.path()), keel::IOError, Contains("not a regular file"));
}

TEST_CASE("save_npy refuses an undefined tensor and leaves no file", "[data][npy]") {
  keel::test::TempDir dir("npy_save_bad");
  KEEL_CHECK_THROWS(save_npy(dir / "x.npy", Tensor()), keel::ValueError, Contains("x.npy") && Contains("undefined"));
  CHECK(fs::is_empty(dir.path()));
  KEEL_CHECK_THROWS(save_npy(dir / "no_such_dir" / "x.npy", Tensor::scalar(1)), keel::IOError,
                    Contains("save_npy") && Contains("no_such_dir"));
}
