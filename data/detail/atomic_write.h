#pragma once
// Atomic whole-file writes for data/'s savers (data/ may not use models/atomic_file.h).
#include <filesystem>
#include <string_view>

namespace keel::data::detail {

// Writes `bytes` to a new temp file next to `target` ("<name>.tmp.<pid>.<random>"), fsyncs it and renames
// it over `target`, so readers see the old complete file or the new one. On failure the temp file is
// removed, `target` is untouched and an IOError names `op`, the path, the step and the errno text.
void write_file_atomically(const std::filesystem::path& target, std::string_view bytes, std::string_view op);

}  // namespace keel::data::detail
