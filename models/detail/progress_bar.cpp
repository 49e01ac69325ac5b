#include "keel/models/detail/progress_bar.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cmath>
#include <ostream>

namespace keel {
namespace {
constexpr int kBarWidth = 20;
constexpr const char* kBarGlyph = "\u2501";  // ━
}  // namespace

bool stdout_is_terminal() { return ::isatty(STDOUT_FILENO) == 1; }

ProgressBar::ProgressBar(std::int64_t target, int verbose, std::ostream& out, bool interactive)
    : target_(target), verbose_(verbose), out_(out), interactive_(interactive && verbose == 1),
      start_(std::chrono::steady_clock::now()), last_draw_(start_) {}

std::string ProgressBar::format_duration(double seconds) {
  long s = std::lround(seconds);
  if (s >= 3600) return fmt::format("{}:{:02d}:{:02d}", s / 3600, (s % 3600) / 60, s % 60);
  if (s >= 60) return fmt::format("{}:{:02d}", s / 60, s % 60);
  return fmt::format("{}s", s);
}

std::string ProgressBar::format_per_step(double seconds) {
  if (seconds >= 1) return fmt::format("{}s/step", std::lround(seconds));
  if (seconds >= 1e-3) return fmt::format("{}ms/step", std::lround(seconds * 1e3));
  return fmt::format("{}us/step", std::lround(seconds * 1e6));
}

std::string ProgressBar::format_logs(const Logs& logs) {
  std::string s;
  for (const auto& [key, value] : logs) {
    bool small = !(std::abs(value) > 1e-3);  // Keras: "{:.4e}" unless |value| > 1e-3 (so 0 too)
    s += small ? fmt::format(" - {}: {:.4e}", key, value) : fmt::format(" - {}: {:.4f}", key, value);
  }
  return s;
}

std::string ProgressBar::line(std::int64_t current, const Logs& logs, bool final) const {
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  int digits = static_cast<int>(std::to_string(target_).size());
  std::string counter = fmt::format("{:>{}}/{}", current, digits, target_);
  double per_step = current > 0 ? elapsed / static_cast<double>(current) : 0.0;
  if (verbose_ == 2)
    return fmt::format("{} - {} - {}{}", counter, format_duration(elapsed), format_per_step(per_step), format_logs(logs));
  int filled = target_ > 0 ? static_cast<int>(kBarWidth * current / target_) : kBarWidth;
  std::string bar;
  if (interactive_) {
    bar = "\x1b[32m";
    for (int i = 0; i < filled; ++i) bar += kBarGlyph;
    bar += "\x1b[37m";
    for (int i = filled; i < kBarWidth; ++i) bar += kBarGlyph;
    bar += "\x1b[0m";
    counter = "\x1b[1m" + counter + "\x1b[0m";
  } else {
    for (int i = 0; i < kBarWidth; ++i) bar += kBarGlyph;
  }
  std::string time = final ? format_duration(elapsed)
                           : format_duration(per_step * static_cast<double>(target_ - current));
  return fmt::format("{} {} {} {}{}", counter, bar, time, format_per_step(per_step), format_logs(logs));
}

void ProgressBar::update(std::int64_t current, const Logs& logs) {
  current_ = current;
  if (!interactive_) return;
  auto now = std::chrono::steady_clock::now();
  // Redraw at most every 50 ms, and always at the last step.
  if (current < target_ && now - last_draw_ < std::chrono::milliseconds(50)) return;
  last_draw_ = now;
  out_ << "\r\x1b[2K" << line(current, logs, false) << std::flush;
}

void ProgressBar::finish(const Logs& logs) {
  if (interactive_) out_ << "\r\x1b[2K";
  out_ << line(target_, logs, true) << '\n' << std::flush;
}

}  // namespace keel
