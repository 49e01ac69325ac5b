#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace keel {

// A 64-byte-aligned buffer shared by every Tensor that views it. Its version counter counts
// in-place writes, so autograd can refuse a backward that would read overwritten values.
class Storage {
 public:
  explicit Storage(std::size_t nbytes);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  std::size_t nbytes() const { return nbytes_; }
  std::uint64_t version() const { return version_.load(std::memory_order_relaxed); }
  void bump_version() { version_.fetch_add(1, std::memory_order_relaxed); }

 private:
  void* data_;
  std::size_t nbytes_;
  std::atomic<std::uint64_t> version_{0};
};

}  // namespace keel
