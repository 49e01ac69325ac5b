#include <catch2/catch.hpp>

#include <cstdint>

#include "keel/core/error.h"
#include "keel/core/memory_pool.h"
#include "keel/core/tensor.h"

using namespace keel;

TEST_CASE("memory pool hands a freed block out again for the same size class", "[memory_pool]") {
  if (!memory::pooling_enabled()) return;  // KEEL_MEMORY_POOL=0 in the environment
  void* a = memory::allocate(100000);
  memory::deallocate(a, 100000);
  const auto before = memory::pool_stats();
  void* b = memory::allocate(99000);  // 99000 and 100000 both round up to the class 7 · 16384 = 114688
  const auto after = memory::pool_stats();
  CHECK(b == a);
  CHECK(after.pool_hits == before.pool_hits + 1);
  CHECK(after.system_allocations == before.system_allocations);
  memory::deallocate(b, 99000);
}

TEST_CASE("memory pool blocks are 64-byte aligned and usable to their full size", "[memory_pool]") {
  for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{63}, std::size_t{65}, std::size_t{4097},
                        std::size_t{1} << 20, (std::size_t{1} << 20) + 1, std::size_t{2} << 20,
                        (std::size_t{3} << 20) + 1}) {
    auto* p = static_cast<unsigned char*>(memory::allocate(n));
    CHECK(reinterpret_cast<std::uintptr_t>(p) % 64 == 0);
    for (std::size_t i = 0; i < n; ++i) p[i] = static_cast<unsigned char>(i);
    for (std::size_t i = 0; i < n; ++i) REQUIRE(p[i] == static_cast<unsigned char>(i));
    memory::deallocate(p, n);
  }
}

TEST_CASE("memory pool blocks of 2 MiB and more start on a huge page, and go back to the system whole",
          "[memory_pool]") {
  if (!memory::huge_pages_enabled()) return;  // KEEL_HUGE_PAGES=0 in the environment
  memory::release_cached();
  const std::size_t huge = std::size_t{2} << 20;
  for (std::size_t n : {huge - 64, huge, 5 * huge + 4097}) {
    auto* p = static_cast<unsigned char*>(memory::allocate(n));
    CHECK(reinterpret_cast<std::uintptr_t>(p) % huge == 0);
    p[0] = 1;
    p[n - 1] = 2;
    CHECK(p[0] + p[n - 1] == 3);
    memory::deallocate(p, n);
  }
  memory::release_cached();  // unmaps the cached blocks
  CHECK(memory::pool_stats().bytes_cached == 0);
  // A size no mapping can hold is refused, and leaves the counts as they were.
  const auto before = memory::pool_stats();
  REQUIRE_THROWS_AS(memory::allocate(std::size_t{1} << 62), ValueError);
  CHECK(memory::pool_stats().bytes_in_use == before.bytes_in_use);
}

TEST_CASE("memory pool counts bytes in use and cached, and release_cached empties the cache", "[memory_pool]") {
  memory::release_cached();
  const auto start = memory::pool_stats();
  CHECK(start.bytes_cached == 0);
  void* p = memory::allocate(1 << 16);  // 65536 bytes is a class boundary
  CHECK(memory::pool_stats().bytes_in_use == start.bytes_in_use + (1 << 16));
  memory::deallocate(p, 1 << 16);
  CHECK(memory::pool_stats().bytes_in_use == start.bytes_in_use);
  if (memory::pooling_enabled()) CHECK(memory::pool_stats().bytes_cached == (1 << 16));
  memory::release_cached();
  CHECK(memory::pool_stats().bytes_cached == 0);
}

TEST_CASE("memory pool serves tensors, so re-creating a tensor of the same shape costs no system allocation",
          "[memory_pool]") {
  if (!memory::pooling_enabled()) return;
  { Tensor warm = Tensor::zeros({64, 26, 26, 32}); }
  const auto before = memory::pool_stats();
  for (int i = 0; i < 5; ++i) {
    Tensor t = Tensor::zeros({64, 26, 26, 32});
    CHECK(t.data<float>()[t.numel() - 1] == 0.0f);
  }
  CHECK(memory::pool_stats().system_allocations == before.system_allocations);
}
