#include "keel/models/detail/zip_archive.h"

#include <catch2/catch.hpp>

#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "keel/core/error.h"
#include "support/temp_dir.h"
#include "support/throws.h"
#include "support/zip_fixture.h"

using Catch::Matchers::Contains;
using keel::io::ZipReader;

namespace {

std::span<const std::byte> as_bytes(const std::string& s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

std::string text(const std::vector<std::byte>& bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

const std::string kLongText = std::string(5000, 'a') + "tail";

std::string two_member_archive() {
  return keel::test::zip_fixture({{"config.json", "{\"a\": 1}", false}, {"model.weights.h5", kLongText, true}});
}

// The offset of the first central-directory record ("PK\1\2").
std::size_t central_record(const std::string& archive) {
  std::size_t at = archive.find(std::string("PK\x01\x02", 4));
  REQUIRE(at != std::string::npos);
  return at;
}

}  // namespace

TEST_CASE("ZipReader lists stored and deflated members and reads them", "[zip]") {
  const std::string archive = two_member_archive();
  ZipReader reader(as_bytes(archive), "mem.keras");
  REQUIRE(reader.members().size() == 2);
  CHECK(reader.members()[0].name == "config.json");
  CHECK_FALSE(reader.members()[0].deflated);
  CHECK(reader.members()[0].size == 8);
  CHECK(reader.members()[1].name == "model.weights.h5");
  CHECK(reader.members()[1].deflated);
  CHECK(reader.members()[1].size == kLongText.size());
  CHECK(reader.members()[1].compressed_size < kLongText.size());
  CHECK(reader.contains("config.json"));
  CHECK_FALSE(reader.contains("metadata.json"));
  CHECK(text(reader.read("config.json", 100)) == "{\"a\": 1}");
  CHECK(text(reader.read("model.weights.h5", kLongText.size())) == kLongText);
}

TEST_CASE("ZipReader opens an archive from a path", "[zip]") {
  keel::test::TempDir dir("zip_path");
  const std::string archive = two_member_archive();
  std::ofstream(dir / "a.keras", std::ios::binary) << archive;
  ZipReader reader(dir / "a.keras");
  CHECK(text(reader.read("config.json", 100)) == "{\"a\": 1}");
  KEEL_CHECK_THROWS(ZipReader(dir / "missing.keras"), keel::IOError, Contains("missing.keras"));
  std::ofstream(dir / "empty.keras").close();
  KEEL_CHECK_THROWS(ZipReader(dir / "empty.keras"), keel::IOError, Contains("empty.keras' is not a readable zip"));
}

TEST_CASE("ZipReader refuses a member larger than the caller's bound before reading it", "[zip]") {
  const std::string archive = two_member_archive();
  ZipReader reader(as_bytes(archive), "mem.keras");
  KEEL_CHECK_THROWS(reader.read("model.weights.h5", kLongText.size() - 1), keel::IOError,
                    Contains("'mem.keras'") && Contains("'model.weights.h5'") && Contains("5004 bytes") &&
                        Contains("limit of 5003"));
}

TEST_CASE("ZipReader names a missing member", "[zip]") {
  const std::string archive = two_member_archive();
  ZipReader reader(as_bytes(archive), "mem.keras");
  KEEL_CHECK_THROWS(reader.read("metadata.json", 100), keel::IOError,
                    Contains("'mem.keras'") && Contains("no member 'metadata.json'"));
}

TEST_CASE("ZipReader refuses bytes that are not a zip archive, or a truncated one", "[zip]") {
  std::string junk = "PK\x03\x04 this is not really a zip archive";
  KEEL_CHECK_THROWS(ZipReader(as_bytes(junk), "junk.keras"), keel::IOError,
                    Contains("'junk.keras' is not a readable zip archive"));
  const std::string archive = two_member_archive();
  for (std::size_t keep : {std::size_t{0}, std::size_t{30}, archive.size() / 2, archive.size() - 1}) {
    const std::string cut = archive.substr(0, keep);
    CHECK_THROWS_AS(ZipReader(as_bytes(cut), "cut.keras"), keel::IOError);
  }
}

TEST_CASE("ZipReader detects corrupted member data through its CRC-32", "[zip]") {
  std::string archive = two_member_archive();
  std::size_t at = archive.find("{\"a\": 1}");
  REQUIRE(at != std::string::npos);
  archive[at + 6] = '2';
  ZipReader reader(as_bytes(archive), "crc.keras");
  KEEL_CHECK_THROWS(reader.read("config.json", 100), keel::IOError, Contains("'crc.keras'") && Contains("config.json"));
}

TEST_CASE("ZipReader refuses a deflated member claiming more than deflate can produce", "[zip]") {
  std::string archive = keel::test::zip_fixture({{"big.bin", std::string(100, 'x'), true}});
  // Uncompressed size field: offset 24 of the central-directory record, 22 of the local header.
  const std::uint32_t claimed = 0x7fffffff;
  std::memcpy(archive.data() + central_record(archive) + 24, &claimed, 4);
  std::memcpy(archive.data() + 22, &claimed, 4);
  auto open_and_read = [&] {
    ZipReader reader(as_bytes(archive), "bomb.keras");
    reader.read("big.bin", std::uint64_t{1} << 40);
  };
  KEEL_CHECK_THROWS(open_and_read(), keel::IOError, Contains("'bomb.keras'") && Contains("big.bin"));
}

TEST_CASE("zip_archive_bytes stores every member, in order, readable by libzip", "[zip]") {
  const std::string a = "{\"keras_version\": \"3\"}", b = std::string(3000, 'z');
  const std::string archive = keel::io::zip_archive_bytes({{"metadata.json", a}, {"model.weights.h5", b}}, "test");
  auto entries = keel::test::zip_fixture_entries(archive);
  REQUIRE(entries.size() == 2);
  CHECK(entries[0].name == "metadata.json");
  CHECK(entries[0].method == ZIP_CM_STORE);
  CHECK(entries[0].bytes == a);
  CHECK(entries[1].name == "model.weights.h5");
  CHECK(entries[1].method == ZIP_CM_STORE);
  CHECK(entries[1].bytes == b);
}

TEST_CASE("write_zip_archive replaces the target file with the archive", "[zip]") {
  keel::test::TempDir dir("zip_write");
  std::ofstream(dir / "m.keras") << "old contents";
  keel::io::write_zip_archive(dir / "m.keras", {{"config.json", "{}"}});
  ZipReader reader(dir / "m.keras");
  REQUIRE(reader.members().size() == 1);
  CHECK(text(reader.read("config.json", 2)) == "{}");
  std::size_t files = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) ++files;
  CHECK(files == 1);
}
