#include "keel/models/detail/file_signature.h"

#include <algorithm>
#include <string_view>

namespace keel::io {
namespace {

bool starts_with(std::span<const std::byte> file, std::string_view magic) {
  return file.size() >= magic.size() &&
         std::equal(magic.begin(), magic.end(), file.begin(),
                    [](char m, std::byte b) { return static_cast<unsigned char>(m) == std::to_integer<unsigned char>(b); });
}

}  // namespace

std::string describe_foreign_file(std::span<const std::byte> file) {
  using namespace std::string_view_literals;
  if (starts_with(file, "PK\x03\x04"sv) || starts_with(file, "PK\x05\x06"sv))
    return "a zip archive (torch.save's format since PyTorch 1.6, or a Keras 3 .keras file)";
  if (starts_with(file, "\x89HDF\r\n\x1a\n"sv)) return "an HDF5 file (a Keras .h5 file)";
  // Pickle protocols 2 to 5 open with PROTO (0x80) and the protocol number.
  if (file.size() >= 2 && std::to_integer<unsigned>(file[0]) == 0x80 && std::to_integer<unsigned>(file[1]) >= 2 &&
      std::to_integer<unsigned>(file[1]) <= 5)
    return "a Python pickle (torch.save's legacy format)";
  if (starts_with(file, "\x93NUMPY"sv)) return "a NumPy .npy file";
  if (starts_with(file, "\x1f\x8b"sv)) return "a gzip file";
  return {};
}

}  // namespace keel::io
