#include "keel/data/detail/zip_archive.h"

#include <catch2/catch.hpp>
#include <zlib.h>

#include "keel/core/error.h"
#include "support/throws.h"

using Catch::Matchers::Contains;
using namespace keel::data::detail;

namespace {

void put(std::string& out, std::uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
}

std::span<const std::byte> as_bytes(const std::string& s) { return std::as_bytes(std::span(s.data(), s.size())); }

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

}  // namespace

TEST_CASE("read_zip_directory takes entry sizes from a ZIP64 extra field", "[data][npz]") {
  const std::string archive = zip64_sized_archive("a.npy", "hello", 5);
  const auto entries = read_zip_directory(as_bytes(archive), "test");
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].name == "a.npy");
  CHECK(entries[0].uncompressed_size == 5);
  CHECK(entries[0].data_offset == 30 + 5);
  const auto data = extract_zip_entry(as_bytes(archive), entries[0], "test");
  CHECK(std::string(reinterpret_cast<const char*>(data.data()), data.size()) == "hello");
  // A ZIP64 field claiming more than the file holds is refused before anything is read.
  KEEL_CHECK_THROWS(read_zip_directory(as_bytes(zip64_sized_archive("a.npy", "hello", 1ull << 40)), "test"),
                    keel::IOError, Contains("test: corrupt zip archive") && Contains("disagree"));
}

TEST_CASE("write_zip archives read back entry by entry, stored and deflated", "[data][npz]") {
  const std::vector<ZipInput> files = {{"one", "first entry"}, {"two", std::string(10000, 'z')}, {"empty", ""}};
  for (bool deflate : {false, true}) {
    const std::string archive = write_zip(files, deflate, "test");
    const auto entries = read_zip_directory(as_bytes(archive), "test");
    REQUIRE(entries.size() == 3);
    for (std::size_t i = 0; i < 3; ++i) {
      CHECK(entries[i].name == files[i].name);
      CHECK(entries[i].method == (deflate ? 8 : 0));
      const auto data = extract_zip_entry(as_bytes(archive), entries[i], "test");
      CHECK(std::string(reinterpret_cast<const char*>(data.data()), data.size()) == files[i].bytes);
    }
    if (deflate) CHECK(entries[1].compressed_size < 100);  // 10000 equal bytes deflate to a few dozen
  }
}
