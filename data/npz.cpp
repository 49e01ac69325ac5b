#include "keel/data/npz.h"

#include <fmt/format.h>

#include <cstring>
#include <fstream>
#include <limits>
#include <system_error>
#include <vector>

#include "keel/core/detail/zip_archive.h"
#include "keel/core/error.h"
#include "keel/data/detail/atomic_write.h"
#include "keel/data/npy.h"

namespace keel::data {
namespace {

namespace fs = std::filesystem;
constexpr std::string_view kNpySuffix = ".npy";

std::vector<std::byte> read_whole_file(const fs::path& path, std::string_view source) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec))
    throw IOError(fmt::format("{}: {}", source, fs::exists(path, ec) ? "not a regular file" : "no such file"));
  const std::uint64_t size = fs::file_size(path, ec);
  if (ec) throw IOError(fmt::format("{}: cannot stat: {}", source, ec.message()));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IOError(fmt::format("{}: cannot open: {}", source, std::strerror(errno)));
  std::vector<std::byte> bytes(static_cast<std::size_t>(size));
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size));
  if (in.gcount() != static_cast<std::streamsize>(size)) throw IOError(fmt::format("{}: read error (the file shrank?)", source));
  return bytes;
}

void save(const fs::path& path, const NamedTensors& arrays, io::ZipCompression compression, std::string_view op) {
  std::vector<std::pair<std::string, std::string>> npy_files;  // entry name, .npy bytes
  for (const auto& [name, tensor] : arrays) {
    if (!tensor.defined())
      throw ValueError(fmt::format("{}: '{}': the tensor '{}' is undefined (default-constructed)", op, path.string(), name));
    npy_files.emplace_back(name + std::string(kNpySuffix), encode_npy(tensor));
  }
  std::vector<io::ZipMemberBytes> members;
  for (const auto& [entry, bytes] : npy_files) members.push_back({entry, bytes});
  const std::string archive = io::zip_archive_bytes(members, fmt::format("{}: '{}'", op, path.string()), compression);
  detail::write_file_atomically(path, archive, op);
}

}  // namespace

NamedTensors load_npz(const fs::path& path) {
  return decode_npz(read_whole_file(path, fmt::format("load_npz: '{}'", path.string())), path.string());
}

NamedTensors decode_npz(std::span<const std::byte> archive, std::string_view source) {
  const io::ZipReader reader(archive, std::string(source));
  NamedTensors arrays;
  for (const io::ZipMember& entry : reader.members()) {
    const std::string entry_source = fmt::format("'{}' entry '{}'", source, entry.name);
    if (!entry.name.ends_with(kNpySuffix) || entry.name.size() == kNpySuffix.size())
      throw IOError(fmt::format("{}: not a .npy file; an .npz archive holds only <name>.npy entries", entry_source));
    // Stored sizes are bounded by the archive and deflated ones by deflate's ratio (checked on opening).
    const std::vector<std::byte> npy = reader.read(entry.name, std::numeric_limits<std::uint64_t>::max());
    arrays.add(entry.name.substr(0, entry.name.size() - kNpySuffix.size()), decode_npy(npy, entry_source));
  }
  return arrays;
}

void save_npz(const fs::path& path, const NamedTensors& arrays) {
  save(path, arrays, io::ZipCompression::stored, "save_npz");
}

void save_npz_compressed(const fs::path& path, const NamedTensors& arrays) {
  save(path, arrays, io::ZipCompression::deflated, "save_npz_compressed");
}

}  // namespace keel::data
