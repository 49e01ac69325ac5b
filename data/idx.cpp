#include "keel/data/idx.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <system_error>

#include "keel/core/error.h"

namespace keel::data {
namespace {

namespace fs = std::filesystem;

constexpr int kMaxRank = 4;
constexpr std::uint8_t kUnsignedByteType = 0x08;
// No deflate stream expands by more than 1032:1 (a 258-byte match costs at least two bits), so a gzip
// file of N bytes decompresses to at most 1032·N bytes. Used to refuse absurd headers before reading.
constexpr std::uint64_t kMaxDeflateRatio = 1032;
// Data is read and the buffer grown in chunks of this size, so a header that lies about the data size
// allocates no more than the data actually present plus one chunk.
constexpr std::size_t kReadChunk = std::size_t{8} << 20;
constexpr std::size_t kTrailingProbe = 4096;

const char* type_code_name(std::uint8_t code) {
  switch (code) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "int16";
    case 0x0C: return "int32";
    case 0x0D: return "float32";
    case 0x0E: return "float64";
    default: return nullptr;
  }
}

[[noreturn]] void fail(const fs::path& path, const std::string& problem) {
  throw IOError(fmt::format("read_idx: '{}': {}", path.string(), problem));
}

// A gzFile that closes itself. zlib reads plain files transparently, so one code path serves both.
class GzInput {
 public:
  explicit GzInput(const fs::path& path) : path_(path), file_(gzopen(path.c_str(), "rb")) {
    if (file_ == nullptr) fail(path_, fmt::format("cannot open: {}", std::strerror(errno)));
    gzbuffer(file_, 1u << 18);
  }
  GzInput(const GzInput&) = delete;
  GzInput& operator=(const GzInput&) = delete;
  ~GzInput() { gzclose(file_); }

  // Reads up to n bytes; returns how many were read (fewer only at the end of the data). A zlib error,
  // including a gzip stream that ends early or fails its CRC check, is an IOError.
  std::size_t read(void* buffer, std::size_t n) {
    int got = gzread(file_, buffer, static_cast<unsigned>(n));
    int code = Z_OK;
    std::string message = gzerror(file_, &code);
    // zlib prefixes its message with the path, which the IOError already names.
    const std::string prefix = path_.string() + ": ";
    if (message.starts_with(prefix)) message.erase(0, prefix.size());
    if (code == Z_BUF_ERROR) fail(path_, fmt::format("truncated gzip stream (zlib: {})", message));
    if (code == Z_ERRNO) fail(path_, fmt::format("read error: {}", std::strerror(errno)));
    if (code != Z_OK) fail(path_, fmt::format("corrupted gzip stream (zlib: {})", message));
    if (got < 0) fail(path_, "read error");
    return static_cast<std::size_t>(got);
  }

  bool is_gzip() { return gzdirect(file_) == 0; }

 private:
  fs::path path_;
  gzFile file_;
};

std::uint32_t big_endian_u32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | std::uint32_t{p[3]};
}

void read_header_bytes(GzInput& in, const fs::path& path, std::uint8_t* buffer, std::size_t n, const char* what) {
  std::size_t got = in.read(buffer, n);
  if (got != n) fail(path, fmt::format("truncated: the {} needs {} bytes, the file ends after {}", what, n, got));
}

// Checks the dimensions and returns their product, refusing one larger than `max_bytes` (what the file
// can hold) before anything is allocated.
std::uint64_t checked_element_count(const fs::path& path, const std::vector<std::int64_t>& dims,
                                    std::uint64_t max_bytes, bool gzip) {
  for (std::size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] == 0) fail(path, fmt::format("dimension {} of [{}] is 0", i, fmt::join(dims, ", ")));
  }
  std::uint64_t count = 1;
  for (std::size_t i = 0; i < dims.size(); ++i) {
    const auto d = static_cast<std::uint64_t>(dims[i]);
    if (count > max_bytes / d) {
      fail(path, fmt::format("truncated: the header's dimensions [{}] need more data than {}",
                             fmt::join(dims, ", "),
                             gzip ? fmt::format("a gzip file of this size can hold (at most {} bytes)", max_bytes)
                                  : fmt::format("the file holds ({} bytes)", max_bytes)));
    }
    count *= d;
  }
  return count;
}

}  // namespace

IdxArray read_idx(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) fail(path, "no such file");
  const std::uint64_t file_size = fs::file_size(path, ec);
  if (ec) fail(path, fmt::format("cannot stat: {}", ec.message()));

  GzInput in(path);
  std::array<std::uint8_t, 4> magic{};
  read_header_bytes(in, path, magic.data(), magic.size(), "magic number");
  if (magic[0] != 0 || magic[1] != 0) {
    fail(path, fmt::format("bad magic: the first two bytes must be 0, got 0x{:02x} 0x{:02x}", magic[0], magic[1]));
  }
  if (magic[2] != kUnsignedByteType) {
    const char* name = type_code_name(magic[2]);
    fail(path, name != nullptr
                   ? fmt::format("IDX type code 0x{:02x} ({}) is not supported; only 0x08 (unsigned byte) is",
                                 magic[2], name)
                   : fmt::format("bad magic: unknown IDX type code 0x{:02x}", magic[2]));
  }
  const int rank = magic[3];
  if (rank == 0 || rank > kMaxRank) fail(path, fmt::format("rank {} is not in [1, {}]", rank, kMaxRank));

  std::array<std::uint8_t, 4 * kMaxRank> dim_bytes{};
  read_header_bytes(in, path, dim_bytes.data(), 4 * static_cast<std::size_t>(rank), "dimension list");
  IdxArray out;
  for (int i = 0; i < rank; ++i) out.dims.push_back(big_endian_u32(dim_bytes.data() + 4 * i));

  const bool gzip = in.is_gzip();
  const std::uint64_t header_size = 4 + 4 * static_cast<std::uint64_t>(rank);
  const std::uint64_t max_bytes = gzip ? file_size * kMaxDeflateRatio : file_size - header_size;
  const std::uint64_t count = checked_element_count(path, out.dims, max_bytes, gzip);

  // A plain file's size has just bounded `count` exactly. A gzip file's bound is loose, so its buffer
  // grows with the data that actually arrives, from a start of a typical compression ratio.
  out.values.reserve(static_cast<std::size_t>(gzip ? std::min(count, file_size * 16) : count));
  std::size_t got = 0;
  while (got < count) {
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(count - got, kReadChunk));
    out.values.resize(got + want);
    const std::size_t n = in.read(out.values.data() + got, want);
    got += n;
    if (n < want) {
      fail(path, fmt::format("truncated: dimensions [{}] need {} bytes of data, the file holds {}",
                             fmt::join(out.dims, ", "), count, got));
    }
  }

  // Reading past the data also makes zlib verify the gzip trailer (CRC-32 and length).
  std::array<std::uint8_t, kTrailingProbe> probe{};
  const std::size_t extra = in.read(probe.data(), probe.size());
  if (extra > 0) {
    fail(path, fmt::format("{}{} trailing bytes after the {} data bytes of dimensions [{}]",
                           extra == probe.size() ? "at least " : "", extra, count, fmt::join(out.dims, ", ")));
  }
  return out;
}

namespace {

constexpr const char* kDefaultFashionMnistDir = "/usr/share/datasets/fashion-mnist";

fs::path find_idx_file(const fs::path& dir, const std::string& name) {
  std::error_code ec;
  const fs::path plain = dir / name;
  if (fs::is_regular_file(plain, ec)) return plain;
  fs::path gz = plain;
  gz += ".gz";
  if (fs::is_regular_file(gz, ec)) return gz;
  throw IOError(fmt::format(
      "read_idx_pair: neither '{}' nor '{}' exists. The default folder {} comes with the Debian package "
      "dataset-fashion-mnist (apt-get install dataset-fashion-mnist); set KEEL_DATA_DIR to read the files "
      "from another folder",
      plain.string(), gz.string(), kDefaultFashionMnistDir));
}

}  // namespace

IdxDataset read_idx_pair(const fs::path& dir, const std::string& prefix) {
  const fs::path images_path = find_idx_file(dir, prefix + "-images-idx3-ubyte");
  const fs::path labels_path = find_idx_file(dir, prefix + "-labels-idx1-ubyte");
  IdxDataset ds{read_idx(images_path), read_idx(labels_path)};
  if (ds.images.dims.size() != 3) {
    throw IOError(fmt::format("read_idx_pair: '{}': images must be rank 3 [count, rows, cols], got rank {} [{}]",
                              images_path.string(), ds.images.dims.size(), fmt::join(ds.images.dims, ", ")));
  }
  if (ds.labels.dims.size() != 1) {
    throw IOError(fmt::format("read_idx_pair: '{}': labels must be rank 1 [count], got rank {} [{}]",
                              labels_path.string(), ds.labels.dims.size(), fmt::join(ds.labels.dims, ", ")));
  }
  if (ds.images.dims[0] != ds.labels.dims[0]) {
    throw IOError(fmt::format("read_idx_pair: count mismatch: '{}' holds {} images but '{}' holds {} labels",
                              images_path.string(), ds.images.dims[0], labels_path.string(), ds.labels.dims[0]));
  }
  return ds;
}

fs::path default_fashion_mnist_dir() {
  const char* env = std::getenv("KEEL_DATA_DIR");
  if (env != nullptr && *env != '\0') return fs::path(env);
  return fs::path(kDefaultFashionMnistDir);
}

}  // namespace keel::data
