#pragma once
// Zip archives through libzip, for Keras 3's `.keras` files: reading members from a file or from bytes
// in memory with every size bounded before anything is allocated, and writing an archive atomically.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

struct zip;

namespace keel::io {

struct ZipMember {
  std::string name;
  std::uint64_t size = 0;             // uncompressed, as the central directory claims
  std::uint64_t compressed_size = 0;
  bool deflated = false;              // false: stored
};

// An archive open for reading. Every failure is an IOError naming the source (a path, or the name the
// caller gave the bytes) and, where one is involved, the member.
class ZipReader {
 public:
  // Reads `bytes`, which must outlive the reader. `source` names them in errors.
  ZipReader(std::span<const std::byte> bytes, std::string source);
  explicit ZipReader(const std::filesystem::path& path);
  ZipReader(const ZipReader&) = delete;
  ZipReader& operator=(const ZipReader&) = delete;

  const std::string& source() const { return source_; }
  // In central-directory order. Only stored and deflated, unencrypted members exist: others are refused
  // when the archive is opened, as are duplicate names.
  const std::vector<ZipMember>& members() const { return members_; }
  bool contains(std::string_view name) const;
  // The member's uncompressed bytes. IOError when it is missing, when it claims more than `max_bytes`
  // (checked before allocating), when a deflated member claims more than deflate can expand its
  // compressed size to, or when its data is truncated or fails its CRC-32.
  std::vector<std::byte> read(std::string_view name, std::uint64_t max_bytes) const;

 private:
  // Takes ownership of `archive` first, so it is freed when listing the members throws.
  void open(struct zip* archive);
  const ZipMember& member(std::string_view name) const;

  struct Discard {
    void operator()(struct zip* archive) const;
  };
  std::string source_;
  std::unique_ptr<struct zip, Discard> archive_;
  std::vector<ZipMember> members_;
};

struct ZipMemberBytes {
  std::string name;
  std::string_view bytes;
};

// The archive of `members`, in order, each stored (uncompressed, as Keras writes `.keras` files).
// IOError starting with `op` when libzip fails.
std::string zip_archive_bytes(const std::vector<ZipMemberBytes>& members, std::string_view op);
// zip_archive_bytes written to `path` atomically (models/detail/atomic_file.h).
void write_zip_archive(const std::filesystem::path& path, const std::vector<ZipMemberBytes>& members);

}  // namespace keel::io
