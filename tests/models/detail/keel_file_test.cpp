#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "keel/core/error.h"
#include "keel/models/detail/atomic_file.h"
#include "keel/models/detail/crc32.h"
#include "keel/models/detail/keel_file.h"
#include "models/file_test_support.h"

using Catch::Matchers::Contains;
using keel::DType;
using keel::io::decode_keel_file;
using keel::io::encode_keel_file;
using keel::io::KeelFileContents;
using keel::io::TensorView;
using keel::test::bytes_of;

namespace {

const std::string kSource = "/ckpt/run1.keel";
const std::string kConfig = R"({"class_name":"Sequential","config":{"layers":[{"class_name":"Dense","units":2}]}})";

struct SmallModel {
  float kernel[4] = {0.5f, -1.25f, 2.0f, 3.75f};
  double bias[2] = {0.001, -2.5};
  std::int64_t step[1] = {-7};
  bool mask[3] = {true, false, true};
  std::vector<TensorView> views() const {
    return {{"layers/0/kernel", DType::float32, {2, 2}, kernel, sizeof kernel},
            {"layers/0/bias", DType::float64, {2}, bias, sizeof bias},
            {"step", DType::int64, {}, step, sizeof step},
            {"mask", DType::boolean, {3}, mask, sizeof mask}};
  }
};

// Decodes a keel file as safetensors, lets `edit` change the metadata, and encodes it again.
template <class Edit>
std::string with_metadata(const std::string& file, Edit edit) {
  auto contents = keel::io::decode_safetensors(bytes_of(file), kSource);
  edit(contents.metadata);
  std::vector<TensorView> views;
  for (const auto& t : contents.tensors) views.push_back({t.name, t.dtype, t.shape, t.bytes.data(), t.bytes.size()});
  return keel::io::encode_safetensors(views, contents.metadata);
}

void require_refused(const std::string& file, const std::string& problem, bool require_keel = true) {
  REQUIRE_THROWS_AS(decode_keel_file(bytes_of(file), kSource, require_keel), keel::IOError);
  REQUIRE_THROWS_WITH(decode_keel_file(bytes_of(file), kSource, require_keel), Contains(kSource) && Contains(problem));
}

// The bit-flip rule: a corrupted file is refused with an IOError or decodes to exactly the original.
// Returns whether it was refused.
bool refused_or_unchanged(const std::string& corrupted, const KeelFileContents& original, bool require_keel) {
  try {
    KeelFileContents decoded = decode_keel_file(bytes_of(corrupted), kSource, require_keel);
    CHECK(decoded == original);
    return false;
  } catch (const keel::IOError&) {
    return true;
  }
}

std::string replace_once(std::string s, const std::string& from, const std::string& to) {
  auto at = s.find(from);
  REQUIRE(at != std::string::npos);
  REQUIRE(s.find(from, at + 1) == std::string::npos);
  return s.replace(at, from.size(), to);
}

}  // namespace

TEST_CASE("keel files round trip tensors, config and extra metadata", "[io]") {
  SmallModel m;
  std::string file = encode_keel_file(m.views(), kConfig, {{"optimizer", "adam"}});
  KeelFileContents c = decode_keel_file(bytes_of(file), kSource, true);
  CHECK(c.keel_format);
  CHECK(c.config == kConfig);
  CHECK(c.metadata == std::map<std::string, std::string>{{"optimizer", "adam"}});
  REQUIRE(c.tensors.size() == 4);
  CHECK(c.tensors[0].name == "layers/0/kernel");
  CHECK(std::memcmp(c.tensors[0].bytes.data(), m.kernel, sizeof m.kernel) == 0);
  CHECK(c.tensors[3].shape == keel::Shape{3});

  KeelFileContents weights_only = decode_keel_file(bytes_of(encode_keel_file(m.views(), "")), kSource, true);
  CHECK(weights_only.config.empty());
  CHECK(weights_only.tensors == c.tensors);
}

TEST_CASE("keel metadata holds format, version, config and per-item CRC-32s", "[io]") {
  SmallModel m;
  std::string file = encode_keel_file(m.views(), kConfig, {{"note", "hi"}});
  auto meta = keel::io::decode_safetensors(bytes_of(file), kSource).metadata;
  CHECK(meta.at("format") == "keel");
  CHECK(meta.at("format_version") == "1");
  CHECK(meta.at("config") == kConfig);
  auto sums = nlohmann::json::parse(meta.at("crc32"));
  CHECK(sums.size() == 6);
  CHECK(sums.at("__config__").get<std::uint32_t>() == keel::io::crc32(bytes_of(kConfig)));
  CHECK(sums.at("__metadata__/note").get<std::uint32_t>() == keel::io::crc32(bytes_of(std::string("hi"))));
  std::string kernel_described = "F32[2,2]" + std::string(reinterpret_cast<const char*>(m.kernel), sizeof m.kernel);
  CHECK(sums.at("layers/0/kernel").get<std::uint32_t>() == keel::io::crc32(bytes_of(kernel_described)));
  std::string step_described = "I64[]" + std::string(reinterpret_cast<const char*>(m.step), sizeof m.step);
  CHECK(sums.at("step").get<std::uint32_t>() == keel::io::crc32(bytes_of(step_described)));
}

TEST_CASE("format_version newer than supported, or not a version, is refused", "[io]") {
  std::string file = encode_keel_file(SmallModel().views(), kConfig);
  auto set_version = [&](const std::string& v) {
    return with_metadata(file, [&](auto& meta) { meta["format_version"] = v; });
  };
  require_refused(set_version("2"), "format_version 2 is newer than this keel supports (format_version 1)");
  require_refused(set_version("99999999999999999999"), "is newer");
  require_refused(set_version("0"), "format_version '0' is not a positive integer");
  require_refused(set_version("1.0"), "not a positive integer");
  require_refused(set_version("-1"), "format_version '-1' is not a positive integer");
  require_refused(set_version("+1"), "not a positive integer");
  require_refused(set_version(""), "not a positive integer");
  require_refused(with_metadata(file, [](auto& meta) { meta.erase("format_version"); }), "lacks format_version");
}

TEST_CASE("a file whose format is not keel loads only as weights, only when asked", "[io]") {
  SmallModel m;
  std::string foreign = keel::io::encode_safetensors(m.views(), {{"format", "pt"}});
  require_refused(foreign, "format is 'pt', not 'keel'");
  KeelFileContents c = decode_keel_file(bytes_of(foreign), kSource, false);
  CHECK_FALSE(c.keel_format);
  CHECK(c.config.empty());
  CHECK(c.metadata.at("format") == "pt");
  CHECK(c.tensors == decode_keel_file(bytes_of(encode_keel_file(m.views(), kConfig)), kSource, true).tensors);
  require_refused(keel::io::encode_safetensors(m.views(), {}), "format is missing");

  // A keel file whose format entry was damaged is not mistaken for a foreign file.
  std::string file = encode_keel_file(m.views(), kConfig);
  require_refused(with_metadata(file, [](auto& meta) { meta["format"] = "keek"; }), "a damaged keel file", false);
  require_refused(with_metadata(file, [](auto& meta) { meta.erase("format"); }), "a damaged keel file", false);
}

TEST_CASE("CRC-32 mismatches are refused naming the tensor or the config", "[io]") {
  SmallModel m;
  std::string file = encode_keel_file(m.views(), kConfig, {{"note", "hi"}});

  SmallModel changed;
  changed.bias[1] = -2.75;
  std::string bias_swapped = with_metadata(encode_keel_file(changed.views(), kConfig, {{"note", "hi"}}), [&](auto& meta) {
    meta["crc32"] = keel::io::decode_safetensors(bytes_of(file), kSource).metadata.at("crc32");
  });
  require_refused(bias_swapped, "CRC-32 mismatch for 'layers/0/bias'");
  require_refused(with_metadata(file, [](auto& meta) { meta["config"] = R"({"class_name":"Sequential"})"; }),
                  "CRC-32 mismatch for '__config__'");
  require_refused(with_metadata(file, [](auto& meta) { meta["note"] = "ho"; }), "CRC-32 mismatch for '__metadata__/note'");
  require_refused(with_metadata(file, [](auto& meta) { meta["extra"] = "x"; }), "no checksum for '__metadata__/extra'");
  require_refused(with_metadata(file, [](auto& meta) { meta.erase("crc32"); }), "lacks crc32");
  require_refused(with_metadata(file, [](auto& meta) { meta["crc32"] = "[1]"; }), "crc32 metadata is not a JSON object");
  require_refused(replace_once(file, "\"step\"", "\"stop\""), "no checksum for 'stop'");

  // Same-size dtype swaps and shape edits of an empty tensor keep the bytes; the checksum still sees them.
  require_refused(replace_once(file, "\"I64\"", "\"F64\""), "CRC-32 mismatch for 'step'");
  const float none[1] = {0};
  std::string empty = encode_keel_file({{"e", DType::float32, {0, 5}, none, 0}}, "");
  require_refused(replace_once(empty, "[0,5]", "[0,6]"), "CRC-32 mismatch for 'e'");
}

TEST_CASE("encode_keel_file refuses reserved names and invalid config JSON", "[io]") {
  SmallModel m;
  const float x[1] = {1};
  REQUIRE_THROWS_WITH(encode_keel_file({{"__config__", DType::float32, {1}, x, sizeof x}}, ""),
                      Contains("'__config__'") && Contains("reserves"));
  REQUIRE_THROWS_WITH(encode_keel_file(m.views(), "", {{"crc32", "0"}}), Contains("'crc32' is reserved"));
  REQUIRE_THROWS_AS(encode_keel_file(m.views(), "{\"a\":"), keel::ValueError);
}

TEST_CASE("flipping any byte of a small keel file is refused or changes nothing", "[io]") {
  SmallModel m;
  std::string file = encode_keel_file(m.views(), R"({"units": 2})", {{"note", "hi"}});
  KeelFileContents original = decode_keel_file(bytes_of(file), kSource, true);
  int refused = 0, unchanged = 0;
  for (std::size_t i = 0; i < file.size(); ++i) {
    for (unsigned char mask : {0x01, 0x20, 0x80, 0xff}) {
      std::string corrupted = file;
      corrupted[i] = static_cast<char>(corrupted[i] ^ mask);
      INFO("byte " << i << " xor " << int(mask));
      for (bool require_keel : {true, false}) (refused_or_unchanged(corrupted, original, require_keel) ? refused : unchanged)++;
    }
  }
  WARN("single-byte flips of a " << file.size() << "-byte file: " << refused << " refused, " << unchanged
                                 << " decoded unchanged");
  CHECK(refused > 0);
}

TEST_CASE("10,000 random byte flips of a larger keel file are refused or change nothing", "[io]") {
  std::vector<float> big(3000);
  std::vector<double> other(500);
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<float>(i) * 0.25f - 100.0f;
  for (std::size_t i = 0; i < other.size(); ++i) other[i] = 1.0 / static_cast<double>(i + 1);
  std::string file = encode_keel_file({{"layers/0/kernel", DType::float32, {30, 100}, big.data(), big.size() * 4},
                                       {"layers/1/moving_mean", DType::float64, {500}, other.data(), other.size() * 8}},
                                      kConfig);
  KeelFileContents original = decode_keel_file(bytes_of(file), kSource, true);
  std::mt19937_64 rng(20261122);
  int refused = 0;
  for (int trial = 0; trial < 10000; ++trial) {
    std::string corrupted = file;
    std::size_t at = rng() % file.size();
    corrupted[at] = static_cast<char>(corrupted[at] ^ static_cast<char>(1 + rng() % 255));
    INFO("trial " << trial << ": byte " << at);
    refused += refused_or_unchanged(corrupted, original, trial % 2 == 0);
  }
  CHECK(refused > 9900);
}

TEST_CASE("read_file_bytes names the path of a missing or unreadable file", "[io]") {
  keel::test::ScratchDir dir("read");
  auto missing = dir.path() / "nope.keel";
  REQUIRE_THROWS_AS(keel::io::read_file_bytes(missing), keel::IOError);
  REQUIRE_THROWS_WITH(keel::io::read_file_bytes(missing), Contains(missing.string()) && Contains("No such file"));
  REQUIRE_THROWS_WITH(keel::io::read_file_bytes(dir.path()), Contains(dir.path().string()) && Contains("directory"));
  std::string bytes = encode_keel_file(SmallModel().views(), kConfig);
  keel::io::atomic_write_file(dir.path() / "m.keel", bytes);
  auto read = keel::io::read_file_bytes(dir.path() / "m.keel");
  CHECK(std::string(reinterpret_cast<const char*>(read.data()), read.size()) == bytes);
}

TEST_CASE("a standard-library Python script reads what keel writes", "[io]") {
  if (std::system("python3 --version > /dev/null 2>&1") != 0) {
    WARN("python3 not found: skipping the Python reader check");
    return;
  }
  keel::test::ScratchDir dir("python");
  auto file = dir.path() / "m.keel";
  auto out = dir.path() / "out.txt";
  keel::io::atomic_write_file(file, encode_keel_file(SmallModel().views(), kConfig));
  std::string command = std::string("python3 ") + KEEL_SOURCE_DIR + "/tests/models/read_safetensors.py '" +
                        file.string() + "' > '" + out.string() + "'";
  REQUIRE(std::system(command.c_str()) == 0);
  std::ifstream in(out);
  std::stringstream printed;
  printed << in.rdbuf();
  CHECK(printed.str() == "config " + kConfig + "\n" +
                             "checksums verified 5\n"
                             "layers/0/kernel F32 [2, 2] 0.5 -1.25 2.0 3.75\n"
                             "layers/0/bias F64 [2] 0.001 -2.5\n"
                             "step I64 [] -7\n"
                             "mask BOOL [3] 1 0 1\n");

  // The script is a real check: it rejects a file whose tensor bytes were changed.
  std::string damaged = encode_keel_file(SmallModel().views(), kConfig);
  damaged[damaged.size() - 1] = 0;
  keel::io::atomic_write_file(file, damaged);
  command = std::string("python3 ") + KEEL_SOURCE_DIR + "/tests/models/read_safetensors.py '" + file.string() +
            "' > /dev/null 2>&1";
  CHECK(std::system(command.c_str()) != 0);
}
