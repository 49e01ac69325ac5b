#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

#include "keel/core/profiler.h"

using Catch::Matchers::Contains;
using namespace keel;

namespace {
struct ProfilingOn {
  bool was = profile::enabled();
  ProfilingOn() {
    profile::set_enabled(true);
    profile::reset();
  }
  ~ProfilingOn() {
    profile::set_enabled(was);
    profile::reset();
  }
};
const profile::Entry* find(const std::vector<profile::Entry>& entries, const std::string& name) {
  for (const auto& e : entries)
    if (e.name == name) return &e;
  return nullptr;
}
}  // namespace

TEST_CASE("profiler scopes record calls and own time, nested scopes excluded", "[profiler]") {
  ProfilingOn on;
  using std::chrono::milliseconds;
  for (int i = 0; i < 2; ++i) {
    profile::Scope outer("outer");
    std::this_thread::sleep_for(milliseconds(2));
    profile::Scope inner("inner", " part");
    std::this_thread::sleep_for(milliseconds(100));
  }
  auto entries = profile::entries();
  const auto* outer = find(entries, "outer");
  const auto* inner = find(entries, "inner part");
  REQUIRE(outer != nullptr);
  REQUIRE(inner != nullptr);
  CHECK(outer->calls == 2);
  CHECK(inner->calls == 2);
  CHECK(inner->self_ms >= 200.0);
  CHECK(outer->self_ms >= 4.0);
  CHECK(outer->self_ms < 150.0);  // the inner 200 ms are not counted again
  CHECK(entries.front().name == "inner part");  // sorted by own time

  std::string table = profile::table(2);
  CHECK_THAT(table, Contains("inner part"));
  CHECK_THAT(table, Contains("ms/step"));
  CHECK_THAT(table, Contains("total"));
}

TEST_CASE("profiler scopes record nothing while profiling is off", "[profiler]") {
  ProfilingOn on;
  profile::set_enabled(false);
  { profile::Scope s("ignored"); }
  CHECK(profile::entries().empty());
}
