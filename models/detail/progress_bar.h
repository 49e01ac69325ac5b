#pragma once
// Keras 3's progress bar: "938/938 ━━━━━━━━━━━━━━━━━━━━ 12s 13ms/step - accuracy: 0.8512 - loss: 0.4210".
// On a terminal it is redrawn in place (with the ETA while running); otherwise, and with
// verbose 2, one line is printed when the epoch ends.
#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <string>

#include "keel/models/history.h"

namespace keel {

class ProgressBar {
 public:
  // target: steps in the epoch; verbose 1 (bar) or 2 (a line per epoch).
  ProgressBar(std::int64_t target, int verbose, std::ostream& out, bool interactive);
  // After step `current` (1-based) with the running logs.
  void update(std::int64_t current, const Logs& logs);
  // The final line with the epoch's logs (validation included).
  void finish(const Logs& logs);

  // Keras's time formats: "2:30" / "45s" for durations, "13ms/step" / "500us/step" / "1s/step".
  static std::string format_duration(double seconds);
  static std::string format_per_step(double seconds);
  static std::string format_logs(const Logs& logs);

 private:
  std::string line(std::int64_t current, const Logs& logs, bool final) const;

  std::int64_t target_;
  int verbose_;
  std::ostream& out_;
  bool interactive_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
  std::int64_t current_ = 0;
};

// True when stdout is a terminal.
bool stdout_is_terminal();

}  // namespace keel
