#pragma once
// The one place that sets keel's thread count. It drives oneTBB only; OpenBLAS always runs
// single-threaded and keel splits large GEMMs across TBB tasks itself
// (docs/design.md#threads-and-determinism).
//
// Determinism: every parallel loop is cut into chunks fixed by the problem (range and grain),
// never by the thread count, so results are bitwise identical for any number of threads.
#include <cstdint>
#include <type_traits>
#include <utility>

namespace keel {

// n >= 1 threads; 0 restores the default (KEEL_NUM_THREADS, else all hardware threads).
void set_num_threads(int n);
int num_threads();

namespace parallel {

// Number of chunks for_each_chunk cuts [begin, end) into.
std::int64_t num_chunks(std::int64_t begin, std::int64_t end, std::int64_t grain);

// Calls fn(chunk_index, chunk_begin, chunk_end) for consecutive chunks of `grain` elements
// (the last one shorter), in parallel when there is more than one chunk.
// For a deterministic reduction write one partial per chunk_index and combine them in order.
template <class Fn>
void for_each_chunk(std::int64_t begin, std::int64_t end, std::int64_t grain, Fn&& fn);

namespace detail {
using ChunkFn = void (*)(void* ctx, std::int64_t chunk, std::int64_t b, std::int64_t e);
void run_chunks(std::int64_t begin, std::int64_t end, std::int64_t grain, ChunkFn fn, void* ctx);
}  // namespace detail

template <class Fn>
void for_each_chunk(std::int64_t begin, std::int64_t end, std::int64_t grain, Fn&& fn) {
  using F = std::remove_reference_t<Fn>;
  detail::run_chunks(
      begin, end, grain,
      [](void* ctx, std::int64_t chunk, std::int64_t b, std::int64_t e) { (*static_cast<F*>(ctx))(chunk, b, e); },
      const_cast<void*>(static_cast<const void*>(&fn)));
}

}  // namespace parallel
}  // namespace keel
