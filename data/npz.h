#pragma once
// NumPy's .npz format: a zip archive holding one .npy file per array, named "<name>.npy" (numpy.savez
// stores them, numpy.savez_compressed deflates them). Element types as for .npy (keel/data/npy.h).
#include <cstddef>
#include <filesystem>
#include <span>
#include <string_view>

#include "keel/data/named_tensors.h"

namespace keel::data {

// The arrays of an .npz file, named without the ".npy" suffix, in the archive's order. The whole archive is
// validated (keel/core/detail/zip_archive.h) and each entry decoded with decode_npy; any problem is an
// IOError naming the file and the entry. Entries that are not ".npy" files are refused, since keel could not
// return them as tensors.
NamedTensors load_npz(const std::filesystem::path& path);
// The same for an archive already in memory; `source` names it, quoted, in error messages (load_npz
// passes the path).
NamedTensors decode_npz(std::span<const std::byte> archive, std::string_view source);

// Writes `arrays` as an .npz file, atomically, with entries stored (like numpy.savez) or deflated (like
// numpy.savez_compressed). ValueError for an undefined tensor; entries or archives of 4 GiB or more get
// ZIP64 fields, as NumPy writes them.
void save_npz(const std::filesystem::path& path, const NamedTensors& arrays);
void save_npz_compressed(const std::filesystem::path& path, const NamedTensors& arrays);

}  // namespace keel::data
