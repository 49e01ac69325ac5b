#pragma once
// Which threads may use one model at a time (docs/threads.md). Reading calls (predict, save) share the
// model; calls that change it (evaluate, train_on_batch, set_weights, compile, ...) take it alone and
// wait for one another. A fit takes it alone for its whole run, and while it runs every call from
// another thread is a UsageError instead of a wait; calls from the fitting thread itself (callbacks)
// pass, so ModelCheckpoint can save between steps.
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <string_view>
#include <thread>

namespace keel::models::detail {

class CallGuard {
 public:
  enum class Access { shared, exclusive, fit };

  // Holds the access it was granted until destroyed.
  class Entry {
   public:
    Entry(Entry&& other) noexcept;
    Entry(const Entry&) = delete;
    Entry& operator=(const Entry&) = delete;
    Entry& operator=(Entry&&) = delete;
    ~Entry();

   private:
    friend class CallGuard;
    enum class Held { nothing, shared, exclusive, nested };
    Entry(CallGuard* guard, Held held) : guard_(guard), held_(held) {}
    CallGuard* guard_;
    Held held_;
  };

  // Waits until `access` is free, or throws UsageError naming `what` and `model` when a fit on another
  // thread holds the model (for a fit: when any fit holds it). A shared call turns exclusive when
  // `needs_exclusive` (run under the guard, with no exclusive holder) says so: a predict that builds.
  Entry enter(Access access, std::string_view what, std::string_view model,
              const std::function<bool()>& needs_exclusive = {});

  // Calls now waiting for the model (for tests and diagnostics).
  std::size_t waiting() const;

 private:
  void leave(Entry::Held held);

  mutable std::mutex mutex_;
  std::condition_variable released_;
  std::thread::id owner_;  // the exclusive holder; a default id when none
  bool fitting_ = false;   // the owner is running fit
  std::size_t readers_ = 0;
  std::size_t waiting_ = 0;
};

}  // namespace keel::models::detail
