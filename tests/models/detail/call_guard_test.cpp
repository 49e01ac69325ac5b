#include <catch2/catch.hpp>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "keel/core/error.h"
#include "keel/models/detail/call_guard.h"
#include "support/throws.h"

using Catch::Matchers::Contains;
using keel::models::detail::CallGuard;
using Access = CallGuard::Access;

namespace {

// Runs `call` on another thread and returns the UsageError's message, or "" when it passed.
template <class F>
std::string error_from_other_thread(F call) {
  std::string error;
  std::thread([&] {
    try {
      call();
    } catch (const keel::UsageError& e) {
      error = e.what();
    }
  }).join();
  return error;
}

}  // namespace

TEST_CASE("CallGuard lets shared calls in together and the fitting thread's own calls through", "[models][threads]") {
  CallGuard guard;
  {
    auto reader = guard.enter(Access::shared, "predict", "m");
    CHECK(error_from_other_thread([&] { guard.enter(Access::shared, "save", "m"); }).empty());
  }
  auto fit = guard.enter(Access::fit, "fit", "m");
  auto nested_save = guard.enter(Access::shared, "save", "m");
  auto nested_set = guard.enter(Access::exclusive, "set_weights", "m");
  KEEL_CHECK_THROWS(guard.enter(Access::fit, "fit", "m"), keel::UsageError, Contains("already being trained"));
}

TEST_CASE("CallGuard refuses other threads while a fit holds the model, naming the call", "[models][threads]") {
  CallGuard guard;
  {
    auto fit = guard.enter(Access::fit, "fit", "net");
    CHECK_THAT(error_from_other_thread([&] { guard.enter(Access::shared, "save", "net"); }),
               Contains("save: model 'net' is being trained by fit() on another thread"));
    CHECK_THAT(error_from_other_thread([&] { guard.enter(Access::exclusive, "evaluate", "net"); }),
               Contains("evaluate: model 'net' is being trained by fit() on another thread"));
    CHECK_THAT(error_from_other_thread([&] { guard.enter(Access::fit, "fit", "net"); }),
               Contains("fit: model 'net' is already being trained by another fit()"));
  }
  CHECK(error_from_other_thread([&] { guard.enter(Access::exclusive, "evaluate", "net"); }).empty());
}

TEST_CASE("CallGuard makes an exclusive call wait for the holder, then run", "[models][threads]") {
  CallGuard guard;
  for (Access held : {Access::shared, Access::exclusive}) {
    std::vector<std::string> order;
    std::atomic<bool> entered{false};
    std::thread other;
    {
      auto entry = guard.enter(held, "predict", "m");
      other = std::thread([&] {
        auto e = guard.enter(Access::exclusive, "evaluate", "m");
        entered = true;
        order.push_back("other");
      });
      while (guard.waiting() == 0) std::this_thread::yield();
      CHECK_FALSE(entered);
      order.push_back("holder");
    }
    other.join();
    CHECK(order == std::vector<std::string>{"holder", "other"});
    CHECK(guard.waiting() == 0);
  }
}

TEST_CASE("CallGuard turns a shared call exclusive when it must build", "[models][threads]") {
  CallGuard guard;
  auto reader = guard.enter(Access::shared, "predict", "m");
  std::atomic<bool> entered{false};
  std::thread builder([&] {
    auto e = guard.enter(Access::shared, "predict", "m", [] { return true; });
    entered = true;
  });
  while (guard.waiting() == 0) std::this_thread::yield();
  CHECK_FALSE(entered);
  { auto moved = std::move(reader); }
  builder.join();
  CHECK(entered);
}
