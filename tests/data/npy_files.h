#pragma once
// Runs tests/data/npy_files.py, the standard-library-only Python writer and reader of .npy/.npz files, and
// reads and writes raw file bytes.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace keel::test {

inline void write_file(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(f.good());
}

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

inline bool python3_available() {
  static const bool available = std::system("python3 --version > /dev/null 2>&1") == 0;
  return available;
}

// Writes the fixtures (FIXTURES in npy_files.py, plus savez.npz, savez_compressed.npz, not_npy_entry.npz).
inline void write_npy_fixtures(const std::filesystem::path& dir) {
  const std::string command =
      std::string("python3 ") + KEEL_SOURCE_DIR + "/tests/data/npy_files.py write '" + dir.string() + "'";
  REQUIRE(std::system(command.c_str()) == 0);
}

// {entry name ("" for .npy): {descr, fortran_order, shape, values, compress_type}} as Python reads the file.
inline nlohmann::json dump_with_python(const std::filesystem::path& file) {
  const std::filesystem::path out = file.string() + ".json";
  const std::string command = std::string("python3 ") + KEEL_SOURCE_DIR + "/tests/data/npy_files.py dump '" +
                              file.string() + "' > '" + out.string() + "'";
  REQUIRE(std::system(command.c_str()) == 0);
  std::ifstream in(out);
  return nlohmann::json::parse(in);
}

}  // namespace keel::test
