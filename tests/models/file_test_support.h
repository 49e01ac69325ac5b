#pragma once
// Helpers shared by the file-format tests: byte conversions, a scratch directory, raw header building.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <random>
#include <set>
#include <span>
#include <string>
#include <vector>

namespace keel::test {

inline std::span<const std::byte> bytes_of(const std::string& s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

inline std::string le_u64(std::uint64_t v) {
  std::string out;
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  return out;
}

// A safetensors file with the given header text (unpadded) and data bytes.
inline std::string raw_safetensors(const std::string& header, const std::string& data) {
  return le_u64(header.size()) + header + data;
}

template <class T>
std::string raw_values(std::initializer_list<T> values) {
  std::string out(values.size() * sizeof(T), '\0');
  std::memcpy(out.data(), std::data(values), out.size());
  return out;
}

// A fresh empty directory, removed with its contents at the end of the test.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& tag) {
    std::random_device entropy;
    path_ = std::filesystem::temp_directory_path() /
            ("keel_" + tag + "_" + std::to_string(::getpid()) + "_" + std::to_string(entropy()));
    std::filesystem::create_directories(path_);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }
  std::set<std::string> listing() const {
    std::set<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(path_)) names.insert(e.path().filename().string());
    return names;
  }

 private:
  std::filesystem::path path_;
};

}  // namespace keel::test
