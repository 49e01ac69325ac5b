#include "keel/models/detail/call_guard.h"

#include <fmt/format.h>

#include <optional>

#include "keel/core/error.h"

namespace keel::models::detail {

CallGuard::Entry::Entry(Entry&& other) noexcept : guard_(other.guard_), held_(other.held_) {
  other.held_ = Held::nothing;
}

CallGuard::Entry::~Entry() {
  if (held_ != Held::nothing) guard_->leave(held_);
}

CallGuard::Entry CallGuard::enter(Access access, std::string_view what, std::string_view model,
                                  const std::function<bool()>& needs_exclusive) {
  const std::thread::id me = std::this_thread::get_id();
  std::unique_lock lock(mutex_);
  if (owner_ == me) {
    if (access == Access::fit)
      throw UsageError(fmt::format("fit: model '{}' is already being trained by another fit()", model));
    return Entry(this, Entry::Held::nested);
  }
  struct Waiting {
    std::size_t& count;
    explicit Waiting(std::size_t& c) : count(c) { ++count; }
    ~Waiting() { --count; }
  };
  std::optional<Waiting> waiting;
  while (true) {
    if (fitting_) {
      if (access == Access::fit)
        throw UsageError(fmt::format("fit: model '{}' is already being trained by another fit()", model));
      throw UsageError(fmt::format("{}: model '{}' is being trained by fit() on another thread", what, model));
    }
    if (owner_ == std::thread::id()) {
      const bool exclusive = access != Access::shared || (needs_exclusive && needs_exclusive());
      if (!exclusive) {
        ++readers_;
        return Entry(this, Entry::Held::shared);
      }
      if (readers_ == 0) {
        owner_ = me;
        fitting_ = access == Access::fit;
        return Entry(this, Entry::Held::exclusive);
      }
    }
    if (!waiting) waiting.emplace(waiting_);
    released_.wait(lock);
  }
}

void CallGuard::leave(Entry::Held held) {
  std::lock_guard lock(mutex_);
  switch (held) {
    case Entry::Held::shared: --readers_; break;
    case Entry::Held::nested: return;  // the outer entry of the same thread releases
    case Entry::Held::exclusive:
      owner_ = std::thread::id();
      fitting_ = false;
      break;
    case Entry::Held::nothing: return;
  }
  released_.notify_all();
}

std::size_t CallGuard::waiting() const {
  std::lock_guard lock(mutex_);
  return waiting_;
}

}  // namespace keel::models::detail
