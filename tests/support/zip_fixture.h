#pragma once
// Zip archives built with libzip directly, so tests of keel's zip and .keras readers do not depend on keel's
// own writer. Each member is stored or deflated as asked.
#include <zip.h>

#include <catch2/catch.hpp>

#include <cstddef>
#include <string>
#include <vector>

namespace keel::test {

struct ZipFixtureMember {
  std::string name;
  std::string bytes;
  bool deflate = false;
};

inline std::string zip_fixture(const std::vector<ZipFixtureMember>& members) {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* buffer = zip_source_buffer_create(nullptr, 0, 0, &error);
  REQUIRE(buffer != nullptr);
  zip_source_keep(buffer);
  zip_t* archive = zip_open_from_source(buffer, ZIP_TRUNCATE, &error);
  REQUIRE(archive != nullptr);
  for (const auto& m : members) {
    zip_source_t* data = zip_source_buffer(archive, m.bytes.data(), m.bytes.size(), 0);
    REQUIRE(data != nullptr);
    zip_int64_t index = zip_file_add(archive, m.name.c_str(), data, ZIP_FL_ENC_UTF_8);
    REQUIRE(index >= 0);
    REQUIRE(zip_set_file_compression(archive, static_cast<zip_uint64_t>(index),
                                     m.deflate ? ZIP_CM_DEFLATE : ZIP_CM_STORE, 0) == 0);
  }
  REQUIRE(zip_close(archive) == 0);
  zip_stat_t st;
  zip_stat_init(&st);
  REQUIRE(zip_source_stat(buffer, &st) == 0);
  REQUIRE(zip_source_open(buffer) == 0);
  std::string out(st.size, '\0');
  REQUIRE(zip_source_read(buffer, out.data(), st.size) == static_cast<zip_int64_t>(st.size));
  zip_source_close(buffer);
  zip_source_free(buffer);
  zip_error_fini(&error);
  return out;
}

// The members of an archive as libzip reports them: name, uncompressed size, compression method.
struct ZipFixtureEntry {
  std::string name;
  std::uint64_t size = 0;
  std::uint16_t method = 0;
  std::string bytes;
};

inline std::vector<ZipFixtureEntry> zip_fixture_entries(const std::string& archive_bytes) {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* source = zip_source_buffer_create(archive_bytes.data(), archive_bytes.size(), 0, &error);
  REQUIRE(source != nullptr);
  zip_t* archive = zip_open_from_source(source, ZIP_RDONLY | ZIP_CHECKCONS, &error);
  REQUIRE(archive != nullptr);
  std::vector<ZipFixtureEntry> out;
  for (zip_int64_t i = 0; i < zip_get_num_entries(archive, 0); ++i) {
    zip_stat_t st;
    REQUIRE(zip_stat_index(archive, static_cast<zip_uint64_t>(i), 0, &st) == 0);
    ZipFixtureEntry e{st.name, st.size, st.comp_method, std::string(st.size, '\0')};
    zip_file_t* file = zip_fopen_index(archive, static_cast<zip_uint64_t>(i), 0);
    REQUIRE(file != nullptr);
    REQUIRE(zip_fread(file, e.bytes.data(), st.size) == static_cast<zip_int64_t>(st.size));
    zip_fclose(file);
    out.push_back(std::move(e));
  }
  zip_discard(archive);
  zip_error_fini(&error);
  return out;
}

}  // namespace keel::test
