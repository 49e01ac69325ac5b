// libFuzzer target for the Keras 3 `.keras` reader: load_model_from_bytes on the raw bytes (the zip
// archive, then config.json and model.weights.h5 inside it), and again on the archive rebuilt from the
// members libzip could read, so that mutated members reach the config and HDF5 readers instead of stopping
// at their CRC-32. Allowed outcomes: success or keel::IOError; any other exception or a sanitizer report
// crashes the fuzzer.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "keel/core/detail/zip_archive.h"
#include "keel/core/error.h"
#include "keel/models/model.h"
#include "keel/models/saving.h"

namespace {

constexpr std::uint64_t kMaxMemberBytes = 1 << 20;

void load_model_or_io_error(std::span<const std::byte> file) {
  try {
    keel::load_model_from_bytes(file, "fuzz input");
  } catch (const keel::IOError&) {
  }
}

// The readable members of the input, re-zipped (stored, fresh CRC-32s).
std::optional<std::string> rezipped(std::span<const std::byte> file) {
  try {
    keel::io::ZipReader reader(file, "fuzz input");
    std::vector<std::string> contents;
    for (const auto& member : reader.members()) {
      auto bytes = reader.read(member.name, kMaxMemberBytes);
      contents.emplace_back(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    }
    std::vector<keel::io::ZipMemberBytes> members;
    for (std::size_t i = 0; i < contents.size(); ++i) members.push_back({reader.members()[i].name, contents[i]});
    return keel::io::zip_archive_bytes(members, "fuzz");
  } catch (const keel::IOError&) {
    return std::nullopt;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto file = std::span(reinterpret_cast<const std::byte*>(data), size);
  load_model_or_io_error(file);
  if (auto again = rezipped(file)) load_model_or_io_error(std::as_bytes(std::span(again->data(), again->size())));
  return 0;
}
