#pragma once
// A per-thread reusable work buffer, so hot kernels do not pay malloc and page faults on every call.
// Constructing one moves the thread's cached buffer out, so a nested use on the same thread (a task
// stolen while waiting) gets a buffer of its own instead of sharing one. Contents are unspecified.
#include <cstddef>
#include <utility>
#include <vector>

namespace keel::kernels {

template <class T>
class ScratchBuffer {
 public:
  explicit ScratchBuffer(std::size_t size) : buffer_(std::move(cached())) {
    if (buffer_.size() < size) buffer_.resize(size);
  }
  ~ScratchBuffer() {
    // Keep at most kMaxCachedBytes per thread; a rare huge buffer is freed again.
    if (buffer_.size() * sizeof(T) <= kMaxCachedBytes && buffer_.size() > cached().size())
      cached() = std::move(buffer_);
  }
  ScratchBuffer(const ScratchBuffer&) = delete;
  ScratchBuffer& operator=(const ScratchBuffer&) = delete;

  T* data() { return buffer_.data(); }

 private:
  static constexpr std::size_t kMaxCachedBytes = std::size_t{16} << 20;
  static std::vector<T>& cached() {
    thread_local std::vector<T> buffer;
    return buffer;
  }
  std::vector<T> buffer_;
};

}  // namespace keel::kernels
