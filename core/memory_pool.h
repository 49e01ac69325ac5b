#pragma once
// Where tensor storage comes from. A training step frees and re-allocates the same sizes every
// step; returning those blocks to the system makes each step pay page faults and page zeroing
// (about a quarter of a convnet step here). The pool keeps freed blocks in size classes and hands
// them out again, like LibTorch's CPU caching allocator. Blocks are 64-byte aligned; blocks of 2 MiB
// and more are 2 MiB-aligned mappings advised to use transparent huge pages.
//
// KEEL_MEMORY_POOL=0 turns pooling off (every block goes straight to the system).
// KEEL_HUGE_PAGES=0 gives large blocks ordinary pages (malloc's).
// KEEL_MEMORY_POOL_LIMIT_MB caps the bytes kept in free lists (default 2048); beyond it, freed
// blocks go back to the system.
#include <cstddef>
#include <cstdint>

namespace keel::memory {

void* allocate(std::size_t nbytes);
void deallocate(void* block, std::size_t nbytes);

// Returns every cached free block to the system.
void release_cached();

struct PoolStats {
  std::uint64_t system_allocations = 0;  // blocks obtained from the system since start
  std::uint64_t pool_hits = 0;           // allocations served from a free list
  std::size_t bytes_in_use = 0;          // in live blocks, counted by size class
  std::size_t bytes_cached = 0;          // in free lists
};
PoolStats pool_stats();

bool pooling_enabled();
bool huge_pages_enabled();

}  // namespace keel::memory
