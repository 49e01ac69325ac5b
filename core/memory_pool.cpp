#include "keel/core/memory_pool.h"

#include <fmt/format.h>

#include <bit>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <sys/mman.h>

#include "keel/core/error.h"

#if defined(__SANITIZE_ADDRESS__)
#define KEEL_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KEEL_ASAN 1
#endif
#endif
#ifdef KEEL_ASAN
#include <sanitizer/asan_interface.h>
// Cached blocks are poisoned, so a use after free is still reported with the pool on.
#define KEEL_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define KEEL_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define KEEL_POISON(p, n) ((void)(p), (void)(n))
#define KEEL_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

namespace keel::memory {
namespace {

// Sizes round up to 64 bytes, then to one of four classes per power of two (waste under 25%).
std::size_t size_class(std::size_t nbytes) {
  std::size_t s = nbytes == 0 ? 64 : (nbytes + 63) / 64 * 64;
  if (s <= 256) return s;
  int high = std::bit_width(s - 1) - 1;  // 2^high < s <= 2^(high + 1)
  std::size_t step = std::size_t{1} << (high - 2);
  return (s + step - 1) / step * step;
}

std::size_t env_size(const char* name, std::size_t fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  try {
    return static_cast<std::size_t>(std::stoull(v));
  } catch (const std::exception&) {
    throw ValueError(fmt::format("{}: expected a non-negative integer, got '{}'", name, v));
  }
}

// Blocks of at least one huge page are mappings of their own, aligned to 2 MiB and advised to use
// transparent huge pages (Linux's "madvise" mode gives huge pages only to memory that asks). Streaming an
// 8 MB tensor through 4 KiB pages takes a TLB miss every 4 KiB, and the hardware prefetchers stop at each
// page's end (docs/performance.md has the figures).
constexpr std::size_t kHugePage = std::size_t{2} << 20;
constexpr std::size_t kPage = 4096;

void* map_huge_aligned(std::size_t bytes) {
  // Map a huge page more than asked, then unmap the slack on both sides of the first aligned address.
  if (bytes > SIZE_MAX - kHugePage) return nullptr;
  const std::size_t length = bytes + kHugePage;
  void* raw = mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return nullptr;
  const auto start = reinterpret_cast<std::uintptr_t>(raw);
  const std::uintptr_t aligned = (start + kHugePage - 1) / kHugePage * kHugePage;
  const std::uintptr_t end = aligned + (bytes + kPage - 1) / kPage * kPage;
  if (aligned > start) munmap(raw, aligned - start);
  if (start + length > end) munmap(reinterpret_cast<void*>(end), start + length - end);
  void* p = reinterpret_cast<void*>(aligned);
  madvise(p, bytes, MADV_HUGEPAGE);  // advice only: refused, the block still works on small pages
  return p;
}

class Pool {
 public:
  Pool()
      : enabled_(env_size("KEEL_MEMORY_POOL", 1) != 0),
        huge_pages_(env_size("KEEL_HUGE_PAGES", 1) != 0),
        limit_bytes_(env_size("KEEL_MEMORY_POOL_LIMIT_MB", 2048) << 20) {}

  void* allocate(std::size_t nbytes) {
    std::size_t bytes = size_class(nbytes);
    {
      std::lock_guard lock(mutex_);
      stats_.bytes_in_use += bytes;
      if (enabled_) {
        auto it = free_.find(bytes);
        if (it != free_.end() && !it->second.empty()) {
          void* p = it->second.back();
          it->second.pop_back();
          stats_.bytes_cached -= bytes;
          ++stats_.pool_hits;
          KEEL_UNPOISON(p, bytes);
          return p;
        }
      }
      ++stats_.system_allocations;
    }
    try {
      return system_allocate(bytes);
    } catch (...) {
      std::lock_guard lock(mutex_);
      stats_.bytes_in_use -= bytes;
      --stats_.system_allocations;
      throw;
    }
  }

  void deallocate(void* block, std::size_t nbytes) {
    if (block == nullptr) return;
    std::size_t bytes = size_class(nbytes);
    {
      std::lock_guard lock(mutex_);
      stats_.bytes_in_use -= bytes;
      if (enabled_ && stats_.bytes_cached + bytes <= limit_bytes_) {
        KEEL_POISON(block, bytes);
        free_[bytes].push_back(block);
        stats_.bytes_cached += bytes;
        return;
      }
    }
    system_free(block, bytes);
  }

  void release_cached() {
    std::unordered_map<std::size_t, std::vector<void*>> blocks;
    {
      std::lock_guard lock(mutex_);
      blocks.swap(free_);
      stats_.bytes_cached = 0;
    }
    for (auto& [bytes, list] : blocks)
      for (void* p : list) {
        KEEL_UNPOISON(p, bytes);
        system_free(p, bytes);
      }
  }

  PoolStats stats() {
    std::lock_guard lock(mutex_);
    return stats_;
  }

  bool enabled() const { return enabled_; }
  bool huge_pages() const { return huge_pages_; }

 private:
  bool maps(std::size_t bytes) const { return huge_pages_ && bytes >= kHugePage; }

  void* system_allocate(std::size_t bytes) const {
    void* p = maps(bytes) ? map_huge_aligned(bytes) : std::aligned_alloc(64, bytes);
    if (p == nullptr) throw ValueError(fmt::format("tensor: cannot allocate {} bytes", bytes));
    return p;
  }

  void system_free(void* p, std::size_t bytes) const {
    if (maps(bytes)) munmap(p, bytes);
    else std::free(p);
  }

  const bool enabled_;
  const bool huge_pages_;
  const std::size_t limit_bytes_;
  std::mutex mutex_;
  std::unordered_map<std::size_t, std::vector<void*>> free_;
  PoolStats stats_;
};

// Never destroyed: tensors in other static objects may be freed after this file's statics.
Pool& pool() {
  static Pool* instance = new Pool();
  return *instance;
}

}  // namespace

void* allocate(std::size_t nbytes) { return pool().allocate(nbytes); }
void deallocate(void* block, std::size_t nbytes) { pool().deallocate(block, nbytes); }
void release_cached() { pool().release_cached(); }
PoolStats pool_stats() { return pool().stats(); }
bool pooling_enabled() { return pool().enabled(); }
bool huge_pages_enabled() { return pool().huge_pages(); }

}  // namespace keel::memory
