#include "keel/data/detail/zip_archive.h"

#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <set>

#include "keel/core/error.h"

namespace keel::data::detail {
namespace {

constexpr std::uint32_t kLocalHeaderSignature = 0x04034b50;
constexpr std::uint32_t kCentralHeaderSignature = 0x02014b50;
constexpr std::uint32_t kEndSignature = 0x06054b50;
constexpr std::size_t kLocalHeaderSize = 30;
constexpr std::size_t kCentralHeaderSize = 46;
constexpr std::size_t kEndSize = 22;
constexpr std::uint16_t kZip64ExtraId = 0x0001;
constexpr std::uint32_t kZip64Marker32 = 0xFFFFFFFF;
constexpr std::uint16_t kZip64Marker16 = 0xFFFF;
constexpr std::uint16_t kFlagEncrypted = 0x0001;
constexpr std::uint16_t kFlagDataDescriptor = 0x0008;
constexpr std::uint16_t kFlagUtf8 = 0x0800;
constexpr std::uint16_t kMethodStored = 0;
constexpr std::uint16_t kMethodDeflated = 8;
constexpr std::uint16_t kVersionNeeded = 20;
constexpr std::uint16_t kDosDate1980 = 0x21;  // 1980-01-01: archives keel writes do not depend on the clock
// No deflate stream expands by more than 1032:1 (a 258-byte match costs at least two bits).
constexpr std::uint64_t kMaxDeflateRatio = 1032;
constexpr std::size_t kZlibChunk = std::size_t{1} << 30;

[[noreturn]] void fail(std::string_view source, const std::string& problem) {
  throw IOError(fmt::format("{}: {}", source, problem));
}

// Little-endian reads at absolute offsets, each checked against the bytes present.
class Bytes {
 public:
  Bytes(std::span<const std::byte> bytes, std::string_view source) : bytes_(bytes), source_(source) {}
  // The value of n <= 8 bytes, or just the bounds check for longer n.
  std::uint64_t read(std::uint64_t offset, std::size_t n, const char* what) const {
    if (offset > bytes_.size() || bytes_.size() - offset < n)
      fail(source_, fmt::format("corrupt zip archive: the {} at byte {} runs past the end of the file ({} bytes)", what,
                                offset, bytes_.size()));
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < std::min<std::size_t>(n, 8); ++i)
      v |= std::to_integer<std::uint64_t>(bytes_[offset + i]) << (8 * i);
    return v;
  }
  std::uint16_t u16(std::uint64_t offset, const char* what) const { return static_cast<std::uint16_t>(read(offset, 2, what)); }
  std::uint32_t u32(std::uint64_t offset, const char* what) const { return static_cast<std::uint32_t>(read(offset, 4, what)); }
  std::string text(std::uint64_t offset, std::size_t n, const char* what) const {
    read(offset, n, what);
    return std::string(reinterpret_cast<const char*>(bytes_.data() + offset), n);
  }
  std::size_t size() const { return bytes_.size(); }

 private:
  std::span<const std::byte> bytes_;
  std::string_view source_;
};

struct Sizes {
  std::uint64_t uncompressed, compressed, local_offset;
};

// Replaces the 32-bit fields that hold the ZIP64 marker by the values of the ZIP64 extra field, which
// lists exactly those, in the order uncompressed size, compressed size, local header offset.
void apply_zip64_extra(const Bytes& in, std::uint64_t extra, std::uint16_t extra_length, Sizes& sizes, bool has_offset,
                       std::string_view source, const std::string& name) {
  const bool needs_zip64 = sizes.uncompressed == kZip64Marker32 || sizes.compressed == kZip64Marker32 ||
                           (has_offset && sizes.local_offset == kZip64Marker32);
  std::uint64_t pos = extra;
  const std::uint64_t end = extra + extra_length;
  while (pos < end) {
    if (end - pos < 4) fail(source, fmt::format("corrupt zip archive: entry '{}' has a truncated extra field", name));
    const std::uint16_t id = in.u16(pos, "extra field");
    const std::uint16_t length = in.u16(pos + 2, "extra field");
    if (end - pos - 4 < length) fail(source, fmt::format("corrupt zip archive: entry '{}' has a truncated extra field", name));
    if (id == kZip64ExtraId) {
      std::uint64_t field = pos + 4;
      const std::uint64_t field_end = field + length;
      for (std::uint64_t* value : {&sizes.uncompressed, &sizes.compressed, has_offset ? &sizes.local_offset : nullptr}) {
        if (value == nullptr || *value != kZip64Marker32) continue;
        if (field_end - field < 8) fail(source, fmt::format("corrupt zip archive: entry '{}' has a short ZIP64 field", name));
        *value = in.read(field, 8, "ZIP64 field");
        field += 8;
      }
      return;
    }
    pos += 4 + length;
  }
  if (needs_zip64) fail(source, fmt::format("corrupt zip archive: entry '{}' has ZIP64 markers but no ZIP64 field", name));
}

struct CentralRecord {
  ZipEntry entry;
  std::uint16_t flags;
  std::uint64_t local_offset;
};

CentralRecord read_central_record(const Bytes& in, std::uint64_t& pos, std::uint64_t directory_end,
                                  std::string_view source) {
  if (directory_end - pos < kCentralHeaderSize || in.u32(pos, "central directory entry") != kCentralHeaderSignature)
    fail(source, fmt::format("corrupt zip archive: no central directory entry at byte {}", pos));
  CentralRecord r;
  r.flags = in.u16(pos + 8, "central directory entry");
  r.entry.method = in.u16(pos + 10, "central directory entry");
  r.entry.crc32 = in.u32(pos + 16, "central directory entry");
  Sizes sizes{in.u32(pos + 24, "central directory entry"), in.u32(pos + 20, "central directory entry"),
              in.u32(pos + 42, "central directory entry")};
  const std::uint16_t name_length = in.u16(pos + 28, "central directory entry");
  const std::uint16_t extra_length = in.u16(pos + 30, "central directory entry");
  const std::uint16_t comment_length = in.u16(pos + 32, "central directory entry");
  const std::uint16_t disk = in.u16(pos + 34, "central directory entry");
  const std::uint64_t record_end = pos + kCentralHeaderSize + name_length + extra_length + comment_length;
  if (record_end > directory_end)
    fail(source, fmt::format("corrupt zip archive: the central directory entry at byte {} runs past the directory", pos));
  r.entry.name = in.text(pos + kCentralHeaderSize, name_length, "entry name");
  apply_zip64_extra(in, pos + kCentralHeaderSize + name_length, extra_length, sizes, true, source, r.entry.name);
  if (disk != 0 && disk != kZip64Marker16)
    fail(source, fmt::format("entry '{}' is on disk {}: multi-disk archives are not supported", r.entry.name, disk));
  r.entry.uncompressed_size = sizes.uncompressed;
  r.entry.compressed_size = sizes.compressed;
  r.local_offset = sizes.local_offset;
  pos = record_end;
  return r;
}

// Checks the local header against the central record and returns where the entry's data starts.
std::uint64_t check_local_header(const Bytes& in, const CentralRecord& r, std::uint64_t directory_offset,
                                 std::string_view source) {
  const std::string& name = r.entry.name;
  const std::uint64_t pos = r.local_offset;
  if (pos >= directory_offset || directory_offset - pos < kLocalHeaderSize || in.u32(pos, "local header") != kLocalHeaderSignature)
    fail(source, fmt::format("corrupt zip archive: entry '{}' has no local header at byte {}", name, pos));
  const std::uint16_t flags = in.u16(pos + 6, "local header");
  const std::uint16_t method = in.u16(pos + 8, "local header");
  const std::uint16_t name_length = in.u16(pos + 26, "local header");
  const std::uint16_t extra_length = in.u16(pos + 28, "local header");
  if (method != r.entry.method || (flags & kFlagEncrypted) != (r.flags & kFlagEncrypted))
    fail(source, fmt::format("corrupt zip archive: entry '{}': the local header disagrees with the central directory "
                             "(method {} vs {})", name, method, r.entry.method));
  if (in.text(pos + kLocalHeaderSize, name_length, "local entry name") != name)
    fail(source, fmt::format("corrupt zip archive: entry '{}': the local header names another file", name));
  if ((flags & kFlagDataDescriptor) == 0) {
    Sizes local{in.u32(pos + 22, "local header"), in.u32(pos + 18, "local header"), 0};
    apply_zip64_extra(in, pos + kLocalHeaderSize + name_length, extra_length, local, false, source, name);
    if (in.u32(pos + 14, "local header") != r.entry.crc32 || local.uncompressed != r.entry.uncompressed_size ||
        local.compressed != r.entry.compressed_size)
      fail(source, fmt::format("corrupt zip archive: entry '{}': the local header's CRC or sizes disagree with the "
                               "central directory", name));
  }
  const std::uint64_t data = pos + kLocalHeaderSize + name_length + extra_length;
  if (data > directory_offset || directory_offset - data < r.entry.compressed_size)
    fail(source, fmt::format("corrupt zip archive: entry '{}' claims {} bytes of data, more than lie before the "
                             "central directory", name, r.entry.compressed_size));
  return data;
}

}  // namespace

std::vector<ZipEntry> read_zip_directory(std::span<const std::byte> archive, std::string_view source) {
  const Bytes in(archive, source);
  if (archive.size() < kEndSize) fail(source, "not a zip archive (too short)");
  // The end record sits before a comment of up to 65535 bytes whose length it states.
  std::uint64_t end = archive.size() - kEndSize;
  const std::uint64_t lowest = archive.size() > kEndSize + 0xFFFF ? archive.size() - kEndSize - 0xFFFF : 0;
  for (;; --end) {
    if (in.u32(end, "end record") == kEndSignature && in.u16(end + 20, "end record") == archive.size() - end - kEndSize) break;
    if (end == lowest) fail(source, "not a zip archive (no end-of-central-directory record)");
  }
  const std::uint16_t disk = in.u16(end + 4, "end record");
  const std::uint16_t directory_disk = in.u16(end + 6, "end record");
  const std::uint16_t entries_here = in.u16(end + 8, "end record");
  const std::uint16_t entry_count = in.u16(end + 10, "end record");
  const std::uint32_t directory_size = in.u32(end + 12, "end record");
  const std::uint32_t directory_offset = in.u32(end + 16, "end record");
  if (entry_count == kZip64Marker16 || directory_size == kZip64Marker32 || directory_offset == kZip64Marker32)
    fail(source, "ZIP64 archives (more than 65535 entries or 4 GiB) are not supported");
  if (disk != 0 || directory_disk != 0 || entries_here != entry_count) fail(source, "multi-disk zip archives are not supported");
  if (std::uint64_t{directory_offset} + directory_size != end)
    fail(source, fmt::format("corrupt zip archive: the central directory ({} bytes at byte {}) does not end where the "
                             "end record starts (byte {})", directory_size, directory_offset, end));

  std::vector<ZipEntry> entries;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> extents;
  std::set<std::string> names;
  std::uint64_t pos = directory_offset;
  for (std::uint16_t i = 0; i < entry_count; ++i) {
    CentralRecord r = read_central_record(in, pos, end, source);
    const std::string& name = r.entry.name;
    if (r.flags & kFlagEncrypted) fail(source, fmt::format("entry '{}' is encrypted, which is not supported", name));
    if (r.entry.method != kMethodStored && r.entry.method != kMethodDeflated)
      fail(source, fmt::format("entry '{}' uses compression method {}; only 0 (stored) and 8 (deflated) are supported",
                               name, r.entry.method));
    if (r.entry.method == kMethodStored && r.entry.compressed_size != r.entry.uncompressed_size)
      fail(source, fmt::format("corrupt zip archive: stored entry '{}' has compressed size {} but size {}", name,
                               r.entry.compressed_size, r.entry.uncompressed_size));
    if (!names.insert(name).second) fail(source, fmt::format("corrupt zip archive: entry '{}' appears twice", name));
    r.entry.data_offset = check_local_header(in, r, directory_offset, source);
    extents.emplace_back(r.local_offset, r.entry.data_offset + r.entry.compressed_size);
    entries.push_back(std::move(r.entry));
  }
  if (pos != end) fail(source, "corrupt zip archive: the central directory holds more than its entries");
  std::sort(extents.begin(), extents.end());
  for (std::size_t i = 1; i < extents.size(); ++i) {
    if (extents[i].first < extents[i - 1].second) fail(source, "corrupt zip archive: two entries overlap");
  }
  return entries;
}

std::vector<std::byte> extract_zip_entry(std::span<const std::byte> archive, const ZipEntry& entry,
                                         std::string_view source) {
  const std::byte* data = archive.data() + entry.data_offset;
  std::vector<std::byte> out;
  if (entry.method == kMethodStored) {
    out.assign(data, data + entry.compressed_size);
  } else {
    if (entry.uncompressed_size / kMaxDeflateRatio > entry.compressed_size)
      fail(source, fmt::format("corrupt zip archive: entry '{}' claims {} bytes, more than {} deflated bytes can hold",
                               entry.name, entry.uncompressed_size, entry.compressed_size));
    out.resize(static_cast<std::size_t>(entry.uncompressed_size));
    z_stream z{};
    if (inflateInit2(&z, -MAX_WBITS) != Z_OK) fail(source, "zlib could not start inflating");
    struct End {
      z_stream* z;
      ~End() { inflateEnd(z); }
    } ender{&z};
    std::byte spare{};
    z.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(data));
    z.next_out = reinterpret_cast<Bytef*>(out.empty() ? &spare : out.data());
    std::uint64_t in_left = entry.compressed_size;
    std::uint64_t out_left = out.size();
    int rc = Z_OK;
    while (rc == Z_OK) {
      if (z.avail_in == 0) {
        z.avail_in = static_cast<uInt>(std::min<std::uint64_t>(in_left, kZlibChunk));
        in_left -= z.avail_in;
      }
      if (z.avail_out == 0) {
        // One spare byte past the declared size catches a stream that inflates to more.
        z.avail_out = static_cast<uInt>(std::min<std::uint64_t>(out_left, kZlibChunk));
        out_left -= z.avail_out;
        if (z.avail_out == 0) {
          z.next_out = reinterpret_cast<Bytef*>(&spare);
          z.avail_out = 1;
        }
      }
      rc = inflate(&z, Z_NO_FLUSH);
      if (z.total_out > entry.uncompressed_size) break;
      if (rc == Z_BUF_ERROR && z.avail_in == 0 && in_left == 0) break;
    }
    if (rc != Z_STREAM_END)
      fail(source, fmt::format("corrupt zip archive: entry '{}' does not inflate{}{}", entry.name,
                               z.msg != nullptr ? ": zlib: " : " (the deflate stream ends early)", z.msg != nullptr ? z.msg : ""));
    if (z.total_out != entry.uncompressed_size || z.avail_in != 0 || in_left != 0)
      fail(source, fmt::format("corrupt zip archive: entry '{}' inflates to {} bytes from {} of its {} compressed "
                               "bytes; its header says {} from all of them",
                               entry.name, z.total_out, z.total_in, entry.compressed_size, entry.uncompressed_size));
  }
  uLong crc = crc32(0L, Z_NULL, 0);
  for (std::size_t done = 0; done < out.size(); done += kZlibChunk) {
    const auto n = static_cast<uInt>(std::min(out.size() - done, kZlibChunk));
    crc = crc32(crc, reinterpret_cast<const Bytef*>(out.data() + done), n);
  }
  if (crc != entry.crc32)
    fail(source, fmt::format("corrupt zip archive: entry '{}' fails its CRC-32 check (stored {:08x}, computed {:08x})",
                             entry.name, entry.crc32, crc));
  return out;
}

namespace {

void put(std::string& out, std::uint64_t value, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
}

std::string deflate_raw(const std::string& bytes, std::string_view op, const std::string& name) {
  z_stream z{};
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw IOError(fmt::format("{}: zlib could not start deflating '{}'", op, name));
  std::string out(deflateBound(&z, static_cast<uLong>(bytes.size())), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  z.avail_in = static_cast<uInt>(bytes.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  if (rc != Z_STREAM_END) throw IOError(fmt::format("{}: zlib could not deflate '{}'", op, name));
  return out;
}

}  // namespace

std::string write_zip(const std::vector<ZipInput>& files, bool deflate, std::string_view op) {
  if (files.size() >= kZip64Marker16)
    throw ValueError(fmt::format("{}: {} entries; at most {} fit a zip archive without ZIP64", op, files.size(),
                                 kZip64Marker16 - 1));
  std::string out;
  std::string directory;
  for (const ZipInput& file : files) {
    if (file.name.size() > kZip64Marker16)
      throw ValueError(fmt::format("{}: entry name of {} bytes; at most 65535 fit a zip archive", op, file.name.size()));
    if (file.bytes.size() >= kZip64Marker32)
      throw ValueError(fmt::format("{}: entry '{}' holds {} bytes; entries of 4 GiB or more need ZIP64, which keel "
                                   "does not write", op, file.name, file.bytes.size()));
    const std::string stored = deflate ? deflate_raw(file.bytes, op, file.name) : std::string();
    const std::string& data = deflate ? stored : file.bytes;
    const auto crc = crc32(crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(file.bytes.data()),
                           static_cast<uInt>(file.bytes.size()));
    const std::uint64_t offset = out.size();
    if (offset + kLocalHeaderSize + file.name.size() + data.size() >= kZip64Marker32)
      throw ValueError(fmt::format("{}: the archive would reach 4 GiB, which needs ZIP64, which keel does not write", op));
    const bool ascii = std::all_of(file.name.begin(), file.name.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
    const std::uint16_t flags = ascii ? 0 : kFlagUtf8;
    const std::uint16_t method = deflate ? kMethodDeflated : kMethodStored;
    // The fields local headers and central directory entries share, from "version needed" to "extra length".
    std::string common;
    put(common, kVersionNeeded, 2);
    put(common, flags, 2);
    put(common, method, 2);
    put(common, 0, 2);  // time 00:00
    put(common, kDosDate1980, 2);
    put(common, crc, 4);
    put(common, data.size(), 4);
    put(common, file.bytes.size(), 4);
    put(common, file.name.size(), 2);
    put(common, 0, 2);  // no extra field
    put(out, kLocalHeaderSignature, 4);
    out += common;
    out += file.name;
    out += data;
    put(directory, kCentralHeaderSignature, 4);
    put(directory, kVersionNeeded, 2);  // version made by
    directory += common;
    put(directory, 0, 2);  // comment length
    put(directory, 0, 2);  // disk
    put(directory, 0, 2);  // internal attributes
    put(directory, 0, 4);  // external attributes
    put(directory, offset, 4);
    directory += file.name;
  }
  if (out.size() + directory.size() >= kZip64Marker32)
    throw ValueError(fmt::format("{}: the archive would reach 4 GiB, which needs ZIP64, which keel does not write", op));
  const std::uint64_t directory_offset = out.size();
  out += directory;
  put(out, kEndSignature, 4);
  put(out, 0, 2);
  put(out, 0, 2);
  put(out, files.size(), 2);
  put(out, files.size(), 2);
  put(out, directory.size(), 4);
  put(out, directory_offset, 4);
  put(out, 0, 2);  // comment length
  return out;
}

}  // namespace keel::data::detail
