#include <catch2/catch.hpp>

#include <chrono>
#include <regex>
#include <sstream>
#include <thread>

#include "keel/models/detail/progress_bar.h"

using Catch::Matchers::Contains;
using keel::ProgressBar;

namespace {
std::string glyphs(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += "━";
  return s;
}
}  // namespace

TEST_CASE("progress bar time and log formats follow Keras", "[fit]") {
  CHECK(ProgressBar::format_duration(5.4) == "5s");
  CHECK(ProgressBar::format_duration(150) == "2:30");
  CHECK(ProgressBar::format_duration(3725) == "1:02:05");
  CHECK(ProgressBar::format_per_step(0.013) == "13ms/step");
  CHECK(ProgressBar::format_per_step(0.0005) == "500us/step");
  CHECK(ProgressBar::format_per_step(2.2) == "2s/step");
  CHECK(ProgressBar::format_logs({{"loss", 0.42101}, {"accuracy", 0.85123}}) == " - accuracy: 0.8512 - loss: 0.4210");
  // |value| ≤ 1e-3 (zero included) switches to scientific notation.
  CHECK(ProgressBar::format_logs({{"loss", 0.0005}, {"mae", 0.0}}) == " - loss: 5.0000e-04 - mae: 0.0000e+00");
}

TEST_CASE("progress bar prints one line at the end when not on a terminal", "[fit]") {
  std::ostringstream out;
  ProgressBar bar(938, 1, out, false);
  bar.update(1, {{"loss", 1.0}});
  bar.update(938, {{"loss", 0.5}});
  CHECK(out.str().empty());
  bar.finish({{"loss", 0.5}, {"val_loss", 0.25}});
  CHECK(std::regex_match(out.str(), std::regex("938/938 " + glyphs(20) +
                                               R"( \d+s \d+(us|ms|s)/step - loss: 0\.5000 - val_loss: 0\.2500\n)")));
  std::ostringstream plain;
  ProgressBar two(7, 2, plain, true);  // verbose 2 never redraws, even on a terminal
  two.update(7, {{"loss", 0.5}});
  two.finish({{"loss", 0.5}});
  CHECK(std::regex_match(plain.str(), std::regex(R"(7/7 - \d+s - \d+(us|ms|s)/step - loss: 0\.5000\n)")));
}

TEST_CASE("progress bar redraws in place on a terminal with a padded counter and a coloured bar", "[fit]") {
  std::ostringstream out;
  ProgressBar bar(10, 1, out, true);
  bar.update(1, {{"loss", 1.0}});
  CHECK(out.str().empty());  // within 50 ms of the start: not redrawn
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  bar.update(5, {{"loss", 1.0}});
  const std::string mid = out.str();
  CHECK(mid.rfind("\r\x1b[2K\x1b[1m 5/10\x1b[0m \x1b[32m" + glyphs(10) + "\x1b[37m" + glyphs(10) + "\x1b[0m ", 0) == 0);
  CHECK_THAT(mid, Contains("/step - loss: 1.0000"));
  CHECK(mid.find('\n') == std::string::npos);
  bar.update(10, {{"loss", 0.5}});  // the last step always draws
  bar.finish({{"loss", 0.5}});
  CHECK(out.str().back() == '\n');
  CHECK_THAT(out.str().substr(mid.size()), Contains("10/10\x1b[0m \x1b[32m" + glyphs(20) + "\x1b[37m\x1b[0m"));
}
