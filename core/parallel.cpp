#include "keel/core/parallel.h"

#include <cblas.h>
#include <fmt/format.h>
#include <tbb/global_control.h>
#include <tbb/parallel_for.h>

#include <charconv>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "keel/core/error.h"
#include "keel/core/log.h"

namespace keel {
namespace {

std::mutex g_mutex;
std::unique_ptr<tbb::global_control> g_control;
int g_threads = 0;

// KEEL_NUM_THREADS as a whole positive number, digits only: "1.5", "2x", " 2" or "+2" are not one.
std::optional<int> positive_integer(std::string_view text) {
  int n = 0;
  auto [end, err] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (err != std::errc() || end != text.data() + text.size() || n < 1)
    return std::nullopt;
  return n;
}

int default_threads() {
  if (const char* env = std::getenv("KEEL_NUM_THREADS")) {
    if (std::optional<int> n = positive_integer(env)) return *n;
    log::warn(fmt::format("KEEL_NUM_THREADS='{}' is not a positive integer; using all hardware threads", env));
  }
  unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(hw);
}

void report_openblas() {
  openblas_set_num_threads(1);
  const char* core = openblas_get_corename();
  log::info(fmt::format("OpenBLAS core: {} (single-threaded; keel splits GEMMs over oneTBB)", core));
  const char* forced = std::getenv("OPENBLAS_CORETYPE");
  bool avx512_core = std::strstr(core, "SkylakeX") || std::strstr(core, "Cooperlake") ||
                     std::strstr(core, "SapphireRapids") || std::strstr(core, "Zen4");  // names vary by version
  if (forced && __builtin_cpu_supports("avx512f") && !avx512_core)
    log::warn(fmt::format("OPENBLAS_CORETYPE={} forces the {} kernels; this CPU has AVX-512 that they leave unused "
                          "(unset OPENBLAS_CORETYPE: where AVX-512 runs at full width, as on Zen 5, GEMMs run about "
                          "twice as fast)",
                          forced, core));
}

void apply_locked(int n) {
  g_threads = n;
  g_control = std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism,
                                                    static_cast<std::size_t>(n));
}

void ensure_initialized() {
  static std::once_flag once;
  std::call_once(once, [] {
    report_openblas();
    std::lock_guard lock(g_mutex);
    if (g_threads == 0) apply_locked(default_threads());
  });
}

}  // namespace

void set_num_threads(int n) {
  if (n < 0) throw ValueError(fmt::format("set_num_threads: n must be >= 0 (0 = default), got {}", n));
  ensure_initialized();
  std::lock_guard lock(g_mutex);
  apply_locked(n == 0 ? default_threads() : n);
}

int num_threads() {
  ensure_initialized();
  std::lock_guard lock(g_mutex);
  return g_threads;
}

namespace parallel {

std::int64_t num_chunks(std::int64_t begin, std::int64_t end, std::int64_t grain) {
  if (end <= begin) return 0;
  if (grain < 1) grain = 1;
  return (end - begin + grain - 1) / grain;
}

namespace detail {

void run_chunks(std::int64_t begin, std::int64_t end, std::int64_t grain, ChunkFn fn, void* ctx) {
  if (grain < 1) grain = 1;
  std::int64_t chunks = num_chunks(begin, end, grain);
  if (chunks == 0) return;
  auto run_one = [&](std::int64_t c) {
    std::int64_t b = begin + c * grain;
    fn(ctx, c, b, std::min(end, b + grain));
  };
  if (chunks == 1) {
    run_one(0);
    return;
  }
  ensure_initialized();
  tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, chunks, 1),
                    [&](const tbb::blocked_range<std::int64_t>& r) {
                      for (std::int64_t c = r.begin(); c != r.end(); ++c) run_one(c);
                    },
                    tbb::simple_partitioner());
}

}  // namespace detail
}  // namespace parallel
}  // namespace keel
