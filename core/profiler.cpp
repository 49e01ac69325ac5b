#include "keel/core/profiler.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <mutex>

namespace keel::profile {
namespace {

using Clock = std::chrono::steady_clock;

std::atomic<bool>& flag() {
  static std::atomic<bool> on = [] {
    const char* v = std::getenv("KEEL_PROFILE");
    return v != nullptr && *v != '\0' && std::string_view(v) != "0";
  }();
  return on;
}

struct Frame {
  std::string name;
  Clock::time_point start;
  double nested_ms = 0;
};

thread_local std::vector<Frame> stack;

struct Totals {
  std::mutex mutex;
  std::map<std::string, Entry, std::less<>> by_name;
};

Totals& totals() {
  static Totals* t = new Totals();  // never destroyed: scopes may close during static teardown
  return *t;
}

}  // namespace

bool enabled() { return flag().load(std::memory_order_relaxed); }
void set_enabled(bool on) { flag().store(on); }

Scope::Scope(std::string_view name, std::string_view suffix) : active_(enabled()) {
  if (!active_) return;
  std::string full(name);
  full += suffix;
  stack.push_back({std::move(full), Clock::now()});
}

Scope::~Scope() {
  if (!active_ || stack.empty()) return;
  Frame f = std::move(stack.back());
  stack.pop_back();
  double elapsed = std::chrono::duration<double, std::milli>(Clock::now() - f.start).count();
  if (!stack.empty()) stack.back().nested_ms += elapsed;
  std::lock_guard lock(totals().mutex);
  Entry& e = totals().by_name[f.name];
  e.name = f.name;
  e.calls += 1;
  e.self_ms += elapsed - f.nested_ms;
}

std::vector<Entry> entries() {
  std::vector<Entry> out;
  {
    std::lock_guard lock(totals().mutex);
    for (const auto& [name, e] : totals().by_name) out.push_back(e);
  }
  std::stable_sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) { return a.self_ms > b.self_ms; });
  return out;
}

void reset() {
  std::lock_guard lock(totals().mutex);
  totals().by_name.clear();
}

std::string table(std::int64_t steps) {
  const double per = steps > 0 ? static_cast<double>(steps) : 1.0;
  std::vector<Entry> rows = entries();
  double total = 0;
  for (const Entry& e : rows) total += e.self_ms;
  std::string out = fmt::format("{:<40} {:>10} {:>12} {:>7}\n", "scope", "calls/step", "ms/step", "share");
  for (const Entry& e : rows)
    out += fmt::format("{:<40} {:>10.1f} {:>12.3f} {:>6.1f}%\n", e.name, static_cast<double>(e.calls) / per,
                       e.self_ms / per, total > 0 ? 100.0 * e.self_ms / total : 0.0);
  out += fmt::format("{:<40} {:>10} {:>12.3f} {:>6.1f}%\n", "total", "", total / per, 100.0);
  return out;
}

}  // namespace keel::profile
