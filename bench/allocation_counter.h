#pragma once
// Counts heap allocations made anywhere in the keel_bench process (keel, its libraries, the harness):
// replaced global operator new, and interposed malloc/calloc/realloc and the aligned C allocators
// (keel's Storage uses std::aligned_alloc). Frees are not counted.
#include <cstdint>

namespace keel::bench {

struct AllocationCount {
  std::uint64_t operator_new = 0;  // every form of global operator new / new[]
  std::uint64_t aligned_c = 0;     // aligned_alloc, posix_memalign, memalign
  std::uint64_t plain_c = 0;       // malloc, calloc, realloc
  std::uint64_t total() const { return operator_new + aligned_c + plain_c; }
};

// Counts since the process started; take differences around the code being measured.
AllocationCount allocation_count();

inline AllocationCount operator-(const AllocationCount& a, const AllocationCount& b) {
  return {a.operator_new - b.operator_new, a.aligned_c - b.aligned_c, a.plain_c - b.plain_c};
}

}  // namespace keel::bench
