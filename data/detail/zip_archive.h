#pragma once
// The part of the ZIP format that .npz files use: entries stored (method 0) or deflated (method 8), no
// encryption, one disk, ZIP64 extra fields on entries (NumPy writes them) but not ZIP64 archives (> 4 GiB).
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace keel::data::detail {

struct ZipEntry {
  std::string name;
  std::uint16_t method = 0;  // 0 stored, 8 deflated
  std::uint32_t crc32 = 0;
  std::uint64_t compressed_size = 0;
  std::uint64_t uncompressed_size = 0;
  std::uint64_t data_offset = 0;  // where the entry's (compressed) bytes start in the archive
};

// The entries of an archive held in memory, in central-directory order. Every field is checked against
// the archive's size and the local headers before anything is inflated; any inconsistency, a duplicate
// name, overlapping entries, an unsupported method or flag is an IOError starting with `source`.
std::vector<ZipEntry> read_zip_directory(std::span<const std::byte> archive, std::string_view source);

// An entry's uncompressed bytes, checked against its size and CRC-32. A deflated entry claiming more
// than deflate can expand its compressed size to is refused before allocating.
std::vector<std::byte> extract_zip_entry(std::span<const std::byte> archive, const ZipEntry& entry,
                                         std::string_view source);

struct ZipInput {
  std::string name;
  std::string bytes;
};

// An archive of `files` in order, each stored or deflated (zlib's default level). ValueError, starting
// with `op`, when a name or size does not fit the non-ZIP64 format (names up to 65535 bytes, entries and
// the archive below 4 GiB, up to 65535 entries).
std::string write_zip(const std::vector<ZipInput>& files, bool deflate, std::string_view op);

}  // namespace keel::data::detail
