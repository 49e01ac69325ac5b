#pragma once
// Recognizes the formats people most often hand to a safetensors reader by mistake, from their magic bytes,
// so the refusal can say what the file is instead of only that its header length is implausible.
#include <cstddef>
#include <span>
#include <string>

namespace keel::io {

// "a zip archive (...)", "an HDF5 file (...)", "a Python pickle (...)", "a NumPy .npy file", "a gzip file";
// empty when the first bytes match none of them.
std::string describe_foreign_file(std::span<const std::byte> file);

}  // namespace keel::io
