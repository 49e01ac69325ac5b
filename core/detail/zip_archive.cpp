#include "keel/core/detail/zip_archive.h"

#include <fmt/format.h>
#include <zip.h>

#include <ctime>
#include <set>

#include "keel/core/error.h"

namespace keel::io {
namespace {

// Deflate expands at most about 1032:1 (zlib's technical notes); a member claiming more is lying.
constexpr std::uint64_t kMaxDeflateRatio = 1032;
constexpr std::uint64_t kDeflateSlack = 1024;
constexpr std::size_t kEndRecordSize = 22;
// 1980-01-01 12:00 UTC: 1980-01-01 in every time zone, the earliest date a zip header holds.
constexpr std::time_t kMemberTime = 315576000;

struct ZipError {
  zip_error_t error;
  ZipError() { zip_error_init(&error); }
  explicit ZipError(int code) { zip_error_init_with_code(&error, code); }
  ZipError(const ZipError&) = delete;
  ZipError& operator=(const ZipError&) = delete;
  ~ZipError() { zip_error_fini(&error); }
  int code() { return zip_error_code_zip(&error); }
  std::string text() { return zip_error_strerror(&error); }
};

std::string archive_error(zip_t* archive) { return zip_error_strerror(zip_get_error(archive)); }

struct FileCloser {
  void operator()(zip_file_t* file) const { zip_fclose(file); }
};

// Why libzip could not open the archive at all (read without ZIP_CHECKCONS).
std::string structure_problem(ZipError& error) {
  switch (error.code()) {
    case ZIP_ER_NOZIP: return "no end-of-central-directory record";
    case ZIP_ER_INCONS: return "corrupt zip archive: the central directory does not lie where the end record says";
    case ZIP_ER_MULTIDISK: return "multi-disk zip archives are not supported";
    default: return error.text();
  }
}

// Why libzip's consistency checks refuse an archive whose central directory it could read.
std::string local_header_problem(ZipError& error) {
  switch (error.code()) {
    case ZIP_ER_NOZIP:
      return "corrupt zip archive: the local headers disagree with the central directory (no local header, or not "
             "all of a member's data, where it says)";
    case ZIP_ER_INCONS:
      return "corrupt zip archive: a local header's name, sizes, CRC-32 or flags disagree with the central directory";
    default: return "corrupt zip archive: " + error.text();
  }
}

// What went wrong reading a member's data.
std::string data_problem(zip_file_t* file) {
  zip_error_t* error = zip_file_get_error(file);
  switch (zip_error_code_zip(error)) {
    case ZIP_ER_CRC: return "fails its CRC-32 check";
    case ZIP_ER_ZLIB:
    case ZIP_ER_COMPRESSED_DATA: return fmt::format("does not inflate: {}", zip_error_strerror(error));
    default: return fmt::format("is corrupt: {}", zip_error_strerror(error));
  }
}

}  // namespace

ZipReader::ZipReader(std::span<const std::byte> bytes, std::string source) : source_(std::move(source)) {
  // libzip opens empty input as an empty archive; a real one has at least its 22-byte end record.
  if (bytes.size() < kEndRecordSize)
    throw IOError(fmt::format("'{}' is not a readable zip archive: it has only {} bytes, so it is not a zip archive "
                              "at all", source_, bytes.size()));
  open([bytes](int flags, zip_error_t* error) -> zip_t* {
    zip_source_t* data = zip_source_buffer_create(bytes.data(), bytes.size(), 0, error);
    if (!data) return nullptr;
    zip_t* archive = zip_open_from_source(data, flags, error);
    if (!archive) zip_source_free(data);
    return archive;
  });
}

ZipReader::ZipReader(const std::filesystem::path& path) : source_(path.string()) {
  std::error_code ec;
  const std::uintmax_t size = std::filesystem::file_size(path, ec);
  if (!ec && size < kEndRecordSize)
    throw IOError(fmt::format("'{}' is not a readable zip archive: it has only {} bytes, so it is not a zip archive "
                              "at all", source_, size));
  open([this](int flags, zip_error_t* error) -> zip_t* {
    int code = 0;
    zip_t* archive = zip_open(source_.c_str(), flags, &code);
    if (!archive) zip_error_init_with_code(error, code);
    return archive;
  });
}

void ZipReader::Discard::operator()(zip_t* archive) const { zip_discard(archive); }

// libzip reports every consistency failure under one or two codes. Opening twice, first without and then
// with ZIP_CHECKCONS, tells a broken end record or central directory from local headers that disagree
// with it, and listing the members in between names the member behind keel's own checks.
void ZipReader::open(const Opener& open_with) {
  ZipError error;
  zip_t* archive = open_with(ZIP_RDONLY, &error.error);
  if (!archive) throw IOError(fmt::format("'{}' is not a readable zip archive: {}", source_, structure_problem(error)));
  archive_.reset(archive);
  list_members();
  ZipError consistency;
  zip_t* checked = open_with(ZIP_RDONLY | ZIP_CHECKCONS, &consistency.error);
  if (!checked) throw IOError(fmt::format("'{}': {}", source_, local_header_problem(consistency)));
  zip_discard(checked);
}

void ZipReader::list_members() {
  zip_t* archive = archive_.get();
  const zip_int64_t count = zip_get_num_entries(archive, 0);
  if (count < 0) throw IOError(fmt::format("'{}': cannot list the zip archive's members", source_));
  std::set<std::string, std::less<>> names;
  for (zip_int64_t i = 0; i < count; ++i) {
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat_index(archive, static_cast<zip_uint64_t>(i), 0, &st) != 0)
      throw IOError(fmt::format("'{}': cannot read zip member {}: {}", source_, i, archive_error(archive)));
    constexpr zip_uint64_t needed = ZIP_STAT_NAME | ZIP_STAT_SIZE | ZIP_STAT_COMP_SIZE | ZIP_STAT_COMP_METHOD;
    if ((st.valid & needed) != needed)
      throw IOError(fmt::format("'{}': zip member {} lacks its name, sizes or method", source_, i));
    ZipMember m{st.name, st.size, st.comp_size, st.comp_method == ZIP_CM_DEFLATE};
    if (st.comp_method != ZIP_CM_STORE && st.comp_method != ZIP_CM_DEFLATE)
      throw IOError(fmt::format("'{}': zip member '{}' uses compression method {}; only stored (0) and deflated (8) "
                                "members are supported",
                                source_, m.name, st.comp_method));
    if ((st.valid & ZIP_STAT_ENCRYPTION_METHOD) && st.encryption_method != ZIP_EM_NONE)
      throw IOError(fmt::format("'{}': zip member '{}' is encrypted, which is not supported", source_, m.name));
    if (!names.insert(m.name).second)
      throw IOError(fmt::format("'{}': the zip archive holds member '{}' twice", source_, m.name));
    if (!m.deflated && m.size != m.compressed_size)
      throw IOError(fmt::format("'{}': stored zip member '{}' claims {} bytes but occupies {}", source_, m.name,
                                m.size, m.compressed_size));
    if (m.deflated && m.size > m.compressed_size * kMaxDeflateRatio + kDeflateSlack)
      throw IOError(fmt::format("'{}': deflated zip member '{}' claims {} bytes from {} compressed bytes, more than "
                                "deflate can produce",
                                source_, m.name, m.size, m.compressed_size));
    members_.push_back(std::move(m));
  }
}

bool ZipReader::contains(std::string_view name) const {
  for (const auto& m : members_)
    if (m.name == name) return true;
  return false;
}

std::size_t ZipReader::index_of(std::string_view name) const {
  for (std::size_t i = 0; i < members_.size(); ++i)
    if (members_[i].name == name) return i;
  throw IOError(fmt::format("'{}': the zip archive has no member '{}'", source_, name));
}

std::vector<std::byte> ZipReader::read(std::string_view name, std::uint64_t max_bytes) const {
  const std::size_t index = index_of(name);
  const ZipMember& m = members_[index];
  if (m.size > max_bytes)
    throw IOError(fmt::format("'{}': zip member '{}' claims {} bytes, more than the limit of {}", source_, m.name,
                              m.size, max_bytes));
  std::unique_ptr<zip_file_t, FileCloser> file(zip_fopen_index(archive_.get(), index, 0));
  if (!file)
    throw IOError(fmt::format("'{}': cannot open zip member '{}': {}", source_, m.name, archive_error(archive_.get())));
  std::vector<std::byte> out(m.size);
  std::uint64_t filled = 0;
  while (filled < m.size) {
    const zip_int64_t n = zip_fread(file.get(), out.data() + filled, m.size - filled);
    if (n < 0) throw IOError(fmt::format("'{}': zip member '{}' {}", source_, m.name, data_problem(file.get())));
    if (n == 0)
      throw IOError(fmt::format("'{}': zip member '{}' ends after {} of its {} bytes", source_, m.name, filled, m.size));
    filled += static_cast<std::uint64_t>(n);
  }
  // Reading past the end is what makes libzip compare the CRC-32 and notice data beyond the claimed size.
  std::byte extra{};
  const zip_int64_t n = zip_fread(file.get(), &extra, 1);
  if (n < 0) throw IOError(fmt::format("'{}': zip member '{}' {}", source_, m.name, data_problem(file.get())));
  if (n > 0)
    throw IOError(fmt::format("'{}': zip member '{}' holds more than the {} bytes it claims", source_, m.name, m.size));
  return out;
}

std::string zip_archive_bytes(const std::vector<ZipMemberBytes>& members, std::string_view op,
                              ZipCompression compression) {
  auto fail = [&](const std::string& what, const std::string& why) -> std::string {
    throw IOError(fmt::format("{}: cannot {}: {}", op, what, why));
  };
  ZipError error;
  zip_source_t* buffer = zip_source_buffer_create(nullptr, 0, 0, &error.error);
  if (!buffer) return fail("create the zip archive in memory", error.text());
  std::unique_ptr<zip_source_t, decltype(&zip_source_free)> keep(buffer, &zip_source_free);
  zip_source_keep(buffer);  // zip_close must leave it alive for us to read the archive back
  zip_t* archive = zip_open_from_source(buffer, ZIP_TRUNCATE, &error.error);
  if (!archive) {
    zip_source_free(buffer);  // undoes the keep
    return fail("create the zip archive in memory", error.text());
  }
  const zip_int32_t method = compression == ZipCompression::deflated ? ZIP_CM_DEFLATE : ZIP_CM_STORE;
  for (const auto& m : members) {
    zip_source_t* data = zip_source_buffer(archive, m.bytes.data(), m.bytes.size(), 0);
    const zip_int64_t index = data ? zip_file_add(archive, m.name.c_str(), data, ZIP_FL_ENC_UTF_8) : -1;
    if (index < 0) {
      std::string why = archive_error(archive);
      if (data) zip_source_free(data);
      zip_discard(archive);
      return fail(fmt::format("add zip member '{}'", m.name), why);
    }
    const auto at = static_cast<zip_uint64_t>(index);
    if (zip_set_file_compression(archive, at, method, 0) != 0 || zip_file_set_mtime(archive, at, kMemberTime, 0) != 0) {
      std::string why = archive_error(archive);
      zip_discard(archive);
      return fail(fmt::format("set up zip member '{}'", m.name), why);
    }
  }
  if (zip_close(archive) != 0) {
    std::string why = archive_error(archive);
    zip_discard(archive);
    return fail("finish the zip archive", why);
  }
  zip_stat_t st;
  zip_stat_init(&st);
  if (zip_source_stat(buffer, &st) != 0 || !(st.valid & ZIP_STAT_SIZE) || zip_source_open(buffer) != 0)
    return fail("read the zip archive back", zip_error_strerror(zip_source_error(buffer)));
  std::string out(st.size, '\0');
  const zip_int64_t n = zip_source_read(buffer, out.data(), st.size);
  zip_source_close(buffer);
  if (n < 0 || static_cast<zip_uint64_t>(n) != st.size)
    return fail("read the zip archive back", zip_error_strerror(zip_source_error(buffer)));
  return out;
}

}  // namespace keel::io
