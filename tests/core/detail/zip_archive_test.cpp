#include "keel/core/detail/zip_archive.h"

#include <catch2/catch.hpp>
#include <zlib.h>

#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "keel/core/error.h"
#include "keel/models/detail/atomic_file.h"
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

void put(std::string& out, std::uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
}

// One stored entry whose central directory record gives both sizes as 0xFFFFFFFF and the real ones in a
// ZIP64 extra field (what writers do for entries of 4 GiB and more), assembled field by field.
std::string zip64_sized_archive(const std::string& name, const std::string& data, std::uint64_t claimed_size) {
  const auto crc = crc32(0, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size()));
  std::string out;
  put(out, 0x04034b50, 4);
  put(out, 20, 2);  // version needed
  put(out, 0, 2);   // flags
  put(out, 0, 2);   // stored
  put(out, 0, 4);   // time, date
  put(out, crc, 4);
  put(out, data.size(), 4);
  put(out, data.size(), 4);
  put(out, name.size(), 2);
  put(out, 0, 2);
  out += name + data;
  const std::size_t directory = out.size();
  put(out, 0x02014b50, 4);
  put(out, 45, 2);  // made by
  put(out, 45, 2);  // needed
  put(out, 0, 2);
  put(out, 0, 2);
  put(out, 0, 4);
  put(out, crc, 4);
  put(out, 0xFFFFFFFF, 4);  // compressed size: in the ZIP64 field
  put(out, 0xFFFFFFFF, 4);  // size: in the ZIP64 field
  put(out, name.size(), 2);
  put(out, 4 + 16, 2);  // extra length
  put(out, 0, 2);       // comment
  put(out, 0, 2);       // disk
  put(out, 0, 2);
  put(out, 0, 4);
  put(out, 0, 4);  // local header offset
  out += name;
  put(out, 0x0001, 2);
  put(out, 16, 2);
  put(out, claimed_size, 8);  // uncompressed
  put(out, claimed_size, 8);  // compressed
  const std::size_t directory_size = out.size() - directory;
  put(out, 0x06054b50, 4);
  put(out, 0, 4);
  put(out, 1, 2);
  put(out, 1, 2);
  put(out, directory_size, 4);
  put(out, directory, 4);
  put(out, 0, 2);
  return out;
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

TEST_CASE("ZipReader takes member sizes from a ZIP64 extra field", "[zip]") {
  const std::string archive = zip64_sized_archive("a.npy", "hello", 5);
  ZipReader reader(as_bytes(archive), "test");
  REQUIRE(reader.members().size() == 1);
  CHECK(reader.members()[0].name == "a.npy");
  CHECK(reader.members()[0].size == 5);
  CHECK(text(reader.read("a.npy", 5)) == "hello");
  // A ZIP64 field claiming more than the file holds is refused before anything is read.
  const std::string lying = zip64_sized_archive("a.npy", "hello", 1ull << 40);
  KEEL_CHECK_THROWS(ZipReader(as_bytes(lying), "test"), keel::IOError,
                    Contains("'test': corrupt zip archive") && Contains("disagree"));
}

TEST_CASE("ZipReader refuses duplicate member names", "[zip]") {
  std::string archive = keel::test::zip_fixture({{"a.npy", "one", false}, {"b.npy", "two", false}});
  // Rename the second member to the first, in its local header and its central-directory record alike.
  for (std::size_t at = archive.find("b.npy"); at != std::string::npos; at = archive.find("b.npy", at)) archive[at] = 'a';
  KEEL_CHECK_THROWS(ZipReader(as_bytes(archive), "twice.npz"), keel::IOError,
                    Contains("'twice.npz'") && Contains("'a.npy' twice"));
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

TEST_CASE("zip_archive_bytes deflates every member when asked, readable back by ZipReader and libzip", "[zip]") {
  const std::vector<keel::io::ZipMemberBytes> members = {
      {"one", "first entry"}, {"two", kLongText}, {"empty", ""}, {"\u00e9t\u00e9.npy", "utf-8 name"}};
  for (auto compression : {keel::io::ZipCompression::stored, keel::io::ZipCompression::deflated}) {
    const bool deflated = compression == keel::io::ZipCompression::deflated;
    INFO("deflated " << deflated);
    const std::string archive = keel::io::zip_archive_bytes(members, "test", compression);
    ZipReader reader(as_bytes(archive), "test");
    REQUIRE(reader.members().size() == members.size());
    for (std::size_t i = 0; i < members.size(); ++i) {
      CHECK(reader.members()[i].name == members[i].name);
      CHECK(reader.members()[i].deflated == deflated);
      CHECK(text(reader.read(members[i].name, 1 << 20)) == members[i].bytes);
    }
    if (deflated) CHECK(reader.members()[1].compressed_size < 100);  // 5000 equal bytes deflate to a few dozen
    const auto entries = keel::test::zip_fixture_entries(archive);
    CHECK(entries[1].method == (deflated ? ZIP_CM_DEFLATE : ZIP_CM_STORE));
    CHECK(entries[1].bytes == kLongText);
  }
}

TEST_CASE("zip_archive_bytes dates every member 1980-01-01, whatever the clock says", "[zip]") {
  const std::string archive = keel::io::zip_archive_bytes({{"a", "x"}}, "test");
  // The local header's MS-DOS date at byte 12: (year - 1980) << 9 | month << 5 | day.
  CHECK(static_cast<unsigned char>(archive[12]) == ((1 << 5) | 1));
  CHECK(archive[13] == 0);
  CHECK(archive.substr(central_record(archive) + 14, 2) == archive.substr(12, 2));
}

TEST_CASE("an archive written atomically replaces the target file", "[zip]") {
  keel::test::TempDir dir("zip_write");
  std::ofstream(dir / "m.keras") << "old contents";
  keel::io::atomic_write_file(dir / "m.keras", keel::io::zip_archive_bytes({{"config.json", "{}"}}, "test"));
  ZipReader reader(dir / "m.keras");
  REQUIRE(reader.members().size() == 1);
  CHECK(text(reader.read("config.json", 2)) == "{}");
  std::size_t files = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) ++files;
  CHECK(files == 1);
}
