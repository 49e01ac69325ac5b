#pragma once
// KEEL_PROFILE=1: where a training step's time goes. Scopes around layer calls, backward nodes,
// the loss, the optimizer and the rest of the step record their wall time; a scope's own time
// excludes the scopes nested inside it, so the rows of the table add up to the time measured.
// Model::fit prints the table (per step, sorted) when profiling is on. Off, a scope costs one
// branch on a cached flag.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace keel::profile {

bool enabled();
void set_enabled(bool on);  // overrides KEEL_PROFILE

class Scope {
 public:
  explicit Scope(std::string_view name, std::string_view suffix = {});
  ~Scope();
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

 private:
  bool active_;
};

struct Entry {
  std::string name;
  std::int64_t calls = 0;
  double self_ms = 0;  // excluding nested scopes
};

// Entries sorted by self time, largest first.
std::vector<Entry> entries();
void reset();
// The entries as a table, times divided by `steps` (ms per step) with each row's share.
std::string table(std::int64_t steps);

}  // namespace keel::profile
