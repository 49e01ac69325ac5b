#pragma once
// Zip archives through libzip, for NumPy's `.npz` files (data/) and Keras 3's `.keras` files (models/):
// reading members from a file or from bytes in memory with every size bounded before anything is
// allocated, and writing an archive in memory. Members are stored or deflated; ZIP64 fields, which NumPy
// writes on every member, are read.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

struct zip;
struct zip_error;

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
  // In central-directory order. Opening refuses an archive whose local headers disagree with its central
  // directory, duplicate names, encrypted members, methods other than stored and deflated, a stored member
  // whose two sizes differ and a deflated one claiming more than deflate can expand its data to.
  const std::vector<ZipMember>& members() const { return members_; }
  bool contains(std::string_view name) const;
  // The member's uncompressed bytes. IOError when it is missing, when it claims more than `max_bytes`
  // (checked before allocating), or when its data is truncated, does not inflate or fails its CRC-32.
  std::vector<std::byte> read(std::string_view name, std::uint64_t max_bytes) const;

 private:
  // Opens the archive with the given libzip flags, or returns nullptr and sets the error.
  using Opener = std::function<struct zip*(int flags, struct zip_error* error)>;
  void open(const Opener& open_with);
  void list_members();
  std::size_t index_of(std::string_view name) const;

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

enum class ZipCompression { stored, deflated };

// The archive of `members`, in order, each stored (as Keras writes `.keras` files and numpy.savez) or
// deflated at zlib's default level (numpy.savez_compressed). Names are marked UTF-8; every member's
// time is 1980-01-01, so the bytes do not depend on the clock; ZIP64 fields appear only where an entry
// or the archive reaches 4 GiB. IOError starting with `op` when libzip fails.
std::string zip_archive_bytes(const std::vector<ZipMemberBytes>& members, std::string_view op,
                              ZipCompression compression = ZipCompression::stored);

}  // namespace keel::io
