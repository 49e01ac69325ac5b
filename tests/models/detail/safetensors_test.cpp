#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "keel/core/error.h"
#include "keel/models/detail/safetensors.h"
#include "models/file_test_support.h"

using Catch::Matchers::Contains;
using keel::DType;
using keel::Shape;
using keel::io::decode_safetensors;
using keel::io::encode_safetensors;
using keel::io::TensorBytes;
using keel::io::TensorView;
using keel::test::bytes_of;
using keel::test::raw_safetensors;
using keel::test::raw_values;

namespace {

const std::string kSource = "/data/model.safetensors";

// The spec's example, spelled out: a = float32 [1.0, -2.5], b = int64 [5], metadata {"k": "v"}.
std::string hand_built_file() {
  std::string header =
      R"({"__metadata__":{"k":"v"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
      R"("b":{"dtype":"I64","shape":[1],"data_offsets":[8,16]}})"
      "   ";  // 133 bytes of JSON padded to 136
  std::string length("\x88\0\0\0\0\0\0\0", 8);
  std::string a("\x00\x00\x80\x3f\x00\x00\x20\xc0", 8);  // 1.0f = 0x3f800000, -2.5f = 0xc0200000
  std::string b("\x05\0\0\0\0\0\0\0", 8);
  return length + header + a + b;
}

std::vector<std::byte> byte_vector(const std::string& s) {
  auto span = bytes_of(s);
  return {span.begin(), span.end()};
}

void require_refused(const std::string& file, const std::string& problem) {
  REQUIRE_THROWS_AS(decode_safetensors(bytes_of(file), kSource), keel::IOError);
  REQUIRE_THROWS_WITH(decode_safetensors(bytes_of(file), kSource), Contains(kSource) && Contains(problem));
}

// A one-tensor header "t" with the given dtype, shape text and offsets.
std::string one_tensor(const std::string& dtype, const std::string& shape, const std::string& offsets) {
  return R"({"t":{"dtype":")" + dtype + R"(","shape":)" + shape + R"(,"data_offsets":)" + offsets + "}}";
}

}  // namespace

TEST_CASE("encode_safetensors writes the spec's bytes exactly", "[io]") {
  const float a[] = {1.0f, -2.5f};
  const std::int64_t b[] = {5};
  std::string file = encode_safetensors({{"a", DType::float32, {2}, a, sizeof a}, {"b", DType::int64, {1}, b, sizeof b}},
                                        {{"k", "v"}});
  CHECK(file == hand_built_file());
  CHECK((file.size() - 8 - 16) % 8 == 0);
}

TEST_CASE("decode_safetensors reads a hand-built file", "[io]") {
  std::string file = hand_built_file();
  auto contents = decode_safetensors(bytes_of(file), kSource);
  CHECK(contents.metadata == std::map<std::string, std::string>{{"k", "v"}});
  REQUIRE(contents.tensors.size() == 2);
  CHECK(contents.tensors[0] == TensorBytes{"a", DType::float32, {2}, byte_vector(raw_values({1.0f, -2.5f}))});
  CHECK(contents.tensors[1] == TensorBytes{"b", DType::int64, {1}, byte_vector(raw_values<std::int64_t>({5}))});
}

TEST_CASE("safetensors round trip keeps every dtype, scalars, empty tensors and storage order", "[io]") {
  const double d[] = {0.1, -1e300, 3.0};
  const std::int64_t i[] = {std::numeric_limits<std::int64_t>::min(), 7};
  const bool flags[] = {true, false, true, true};
  const float scalar = 42.0f;
  std::vector<TensorView> views = {{"z_first", DType::float64, {3, 1}, d, sizeof d},
                                   {"empty", DType::float32, {0, 5}, nullptr, 0},
                                   {"ints", DType::int64, {2}, i, sizeof i},
                                   {"flags", DType::boolean, {2, 2}, flags, sizeof flags},
                                   {"scalar", DType::float32, {}, &scalar, sizeof scalar}};
  std::string file = encode_safetensors(views, {});
  auto contents = decode_safetensors(bytes_of(file), kSource);
  CHECK(contents.metadata.empty());
  REQUIRE(contents.tensors.size() == views.size());
  for (std::size_t k = 0; k < views.size(); ++k) {
    const auto& t = contents.tensors[k];
    CHECK(t.name == views[k].name);
    CHECK(t.dtype == views[k].dtype);
    CHECK(t.shape == views[k].shape);
    REQUIRE(t.bytes.size() == views[k].nbytes);
    CHECK((views[k].nbytes == 0 || std::memcmp(t.bytes.data(), views[k].data, views[k].nbytes) == 0));
  }
}

TEST_CASE("every truncated prefix of a file is refused as truncated", "[io]") {
  const float a[] = {1, 2, 3};
  const std::int64_t b[] = {4, 5};
  std::string file = encode_safetensors({{"a", DType::float32, {3}, a, sizeof a}, {"b", DType::int64, {2}, b, sizeof b}},
                                        {{"note", "x"}});
  for (std::size_t n = 0; n < file.size(); ++n) {
    INFO("prefix length " << n << " of " << file.size());
    require_refused(file.substr(0, n), "truncated");
  }
  CHECK_NOTHROW(decode_safetensors(bytes_of(file), kSource));
}

TEST_CASE("trailing bytes after the last tensor are refused", "[io]") {
  std::string file = hand_built_file();
  require_refused(file + "X", "1 trailing bytes");
  require_refused(file + std::string(8, '\0'), "8 trailing bytes");
}

TEST_CASE("header-length bombs are refused before allocation", "[io]") {
  std::string body = hand_built_file().substr(8);
  require_refused(keel::test::le_u64(std::numeric_limits<std::uint64_t>::max()) + body,
                  "header length 18446744073709551615 exceeds the limit of 100000000 bytes");
  require_refused(keel::test::le_u64(keel::io::kMaxSafetensorsHeaderBytes + 1) + body, "exceeds the limit");
  require_refused(keel::test::le_u64(body.size() + 1) + body, "truncated: header length 153 but only 152 bytes follow");
}

TEST_CASE("a file of another format is named by its magic bytes, with the formats keel reads", "[io]") {
  using namespace std::string_literals;
  const std::string tail(64, '\x01');
  // torch.save (zip since PyTorch 1.6), Keras's .h5, a pickle (torch.save's legacy format), numpy's .npy.
  require_refused("PK\x03\x04\x14\x00\x00\x00\x08\x00"s + tail, "a zip archive");
  require_refused("\x89HDF\r\n\x1a\n"s + tail, "an HDF5 file");
  require_refused("\x80\x02\x8a\x0al\xfc\x9c\x46\xf9\x20\x6a\xa8"s + tail, "a Python pickle");
  require_refused("\x93NUMPY\x01\x00v\x00"s + tail, "a NumPy .npy file");
  require_refused("PK\x03\x04\x14\x00\x00\x00\x08\x00"s + tail, "keel reads .keel and safetensors files");
  // A length field that is merely too large keeps the plain message.
  require_refused(keel::test::le_u64(keel::io::kMaxSafetensorsHeaderBytes + 1) + tail, "exceeds the limit");
}

TEST_CASE("offset attacks are refused naming the tensor", "[io]") {
  std::string data16(16, '\0');
  auto two = [](const std::string& a, const std::string& b) {
    return R"({"a":{"dtype":"F32","shape":[2],"data_offsets":)" + a + R"(},"b":{"dtype":"F32","shape":[2],"data_offsets":)" +
           b + "}}";
  };
  require_refused(raw_safetensors(two("[0,8]", "[4,12]"), std::string(12, '\0')),
                  "tensor 'b': data_offsets [4, 12] overlap tensor 'a' which ends at 8");
  require_refused(raw_safetensors(two("[0,8]", "[12,20]"), std::string(20, '\0')),
                  "tensor 'b': data_offsets [12, 20] leave a gap of 4 bytes after offset 8");
  require_refused(raw_safetensors(two("[0,8]", "[0,8]"), std::string(8, '\0')), "overlap tensor");
  require_refused(raw_safetensors(one_tensor("F32", "[2]", "[8,16]"), data16), "tensor 't'");
  require_refused(raw_safetensors(one_tensor("F32", "[2]", "[8,0]"), data16), "tensor 't': data_offsets [8, 0] end before");
  require_refused(raw_safetensors(one_tensor("F32", "[2]", "[-8,0]"), data16), "tensor 't': data_offsets [-8,0]");
  require_refused(raw_safetensors(one_tensor("F32", "[2]", "[0,8]"), std::string(4, '\0')),
                  "truncated: tensor 't' has data_offsets [0, 8] but the data holds only 4 bytes");
  require_refused(raw_safetensors(one_tensor("F32", "[2]", "[0,8,16]"), data16), "not a pair");

  // Out of order in the header but tiling the data: valid, and returned in storage order.
  auto contents = decode_safetensors(bytes_of(raw_safetensors(two("[8,16]", "[0,8]"), data16)), kSource);
  REQUIRE(contents.tensors.size() == 2);
  CHECK(contents.tensors[0].name == "b");
  CHECK(contents.tensors[1].name == "a");
}

TEST_CASE("declared size must equal stored bytes, and shape bombs are refused", "[io]") {
  std::string data(8, '\0');
  require_refused(raw_safetensors(one_tensor("F32", "[3]", "[0,8]"), data),
                  "tensor 't': float32 shape [3] needs 12 bytes but data_offsets [0, 8] hold 8");
  require_refused(raw_safetensors(one_tensor("F64", "[100000,100000,100000]", "[0,8]"), data),
                  "needs 8000000000000000 bytes");
  require_refused(raw_safetensors(one_tensor("F64", "[2305843009213693952]", "[0,8]"), data), "more than 2^64 bytes");
  require_refused(raw_safetensors(one_tensor("F32", "[4294967296,4294967296]", "[0,8]"), data),
                  "more elements than int64 can count");
  require_refused(raw_safetensors(one_tensor("F32", "[9223372036854775808]", "[0,8]"), data),
                  "not an integer in [0, 2^63)");
}

TEST_CASE("malformed headers are refused with what is wrong", "[io]") {
  std::string d8(8, '\0');
  struct Case {
    std::string header;
    std::string problem;
  };
  std::vector<Case> cases = {
      {"", "invalid JSON"},
      {"not json", "invalid JSON"},
      {"[1,2]", "not a JSON object"},
      {one_tensor("F16", "[4]", "[0,8]"), "unsupported dtype 'F16'"},
      {one_tensor("BF16", "[4]", "[0,8]"), "unsupported dtype 'BF16'"},
      {R"({"t":{"dtype":4,"shape":[2],"data_offsets":[0,8]}})", "dtype is not a string"},
      {R"({"t":{"dtype":"F32","data_offsets":[0,8]}})", "lacks \"shape\""},
      {R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}})", "unknown header field 'x'"},
      {R"({"t":[]})", "tensor 't': header entry is not a JSON object"},
      {one_tensor("F32", "[2.0]", "[0,8]"), "shape [2.0] has a dimension"},
      {one_tensor("F32", "[-2]", "[0,8]"), "shape [-2] has a dimension"},
      {one_tensor("F32", "2", "[0,8]"), "shape is not an array"},
      {R"({"__metadata__":{"k":1},"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
       "__metadata__ value of 'k' is not a string"},
      {R"({"__metadata__":"k","t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", "__metadata__ is not a JSON object"},
      {R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
       "duplicate JSON key 't'"},
      {R"({"t":{"dtype":"F32","shape":[[[2]]],"data_offsets":[0,8]}})", "nested deeper"},
      {one_tensor("F32", "[2]", "[0,8]") + "x", "invalid JSON"},
      {"{\"t\xff\":1}", "invalid JSON"},
      {R"({"":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", "empty name"},
  };
  for (const auto& c : cases) {
    INFO(c.header);
    require_refused(raw_safetensors(c.header, d8), c.problem);
  }
}

TEST_CASE("BOOL tensors must hold 0 or 1 bytes", "[io]") {
  require_refused(raw_safetensors(one_tensor("BOOL", "[2]", "[0,2]"), std::string("\x01\x02", 2)),
                  "tensor 't': BOOL element 1 is byte 2, not 0 or 1");
}

TEST_CASE("encode_safetensors refuses inconsistent tensors", "[io]") {
  const float a[] = {1, 2};
  REQUIRE_THROWS_WITH(encode_safetensors({{"a", DType::float32, {3}, a, sizeof a}}, {}),
                      Contains("tensor 'a'") && Contains("[3]") && Contains("got 8"));
  REQUIRE_THROWS_WITH(encode_safetensors({{"a", DType::float32, {2}, a, sizeof a}, {"a", DType::float32, {2}, a, sizeof a}}, {}),
                      Contains("duplicate tensor name 'a'"));
  REQUIRE_THROWS_AS(encode_safetensors({{"__metadata__", DType::float32, {2}, a, sizeof a}}, {}), keel::ValueError);
  REQUIRE_THROWS_AS(encode_safetensors({{"", DType::float32, {2}, a, sizeof a}}, {}), keel::ValueError);
  REQUIRE_THROWS_WITH(encode_safetensors({{"bad\xff", DType::float32, {2}, a, sizeof a}}, {}), Contains("not UTF-8"));
}
