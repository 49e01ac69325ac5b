#pragma once
// Tiny benchmark harness: named cases registered at static init, medians of repeated runs.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace keel::bench {

struct Timing {
  double median_ms, min_ms, max_ms;
};

// Runs fn once to warm up, then `runs` times; returns median, min and max in ms.
inline Timing time_ms(const std::function<void()>& fn, int runs = 21) {
  fn();
  std::vector<double> t;
  for (int i = 0; i < runs; ++i) {
    auto a = std::chrono::steady_clock::now();
    fn();
    t.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - a).count());
  }
  std::sort(t.begin(), t.end());
  return {t[t.size() / 2], t.front(), t.back()};
}

// keel_bench --samples N: how many samples the cases that train on a data set use (0: all of it).
inline std::int64_t& samples_option() {
  static std::int64_t samples = 0;
  return samples;
}

// keel_bench --keras-files DIR: the folder of Keras model files the keras_files case loads (empty: the
// shared/keras_files folder next to the source tree).
inline std::string& keras_files_option() {
  static std::string dir;
  return dir;
}

struct Case {
  std::string group, name;
  std::function<void()> run;  // prints its own result lines
};

inline std::vector<Case>& registry() {
  static std::vector<Case> cases;
  return cases;
}

struct Register {
  Register(std::string group, std::string name, std::function<void()> run) {
    registry().push_back({std::move(group), std::move(name), std::move(run)});
  }
};

}  // namespace keel::bench
