#pragma once
// Captures what is written to file descriptor 2 (keel's log sink) while alive.
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include <unistd.h>

#include "temp_dir.h"

namespace keel::test {

class StderrCapture {
 public:
  StderrCapture() : dir_("stderr") {
    std::fflush(stderr);
    saved_ = ::dup(2);
    std::FILE* f = std::fopen((dir_ / "err.txt").c_str(), "w");
    ::dup2(::fileno(f), 2);
    std::fclose(f);
  }
  StderrCapture(const StderrCapture&) = delete;
  StderrCapture& operator=(const StderrCapture&) = delete;
  ~StderrCapture() { restore(); }

  // Everything written so far.
  std::string text() {
    std::fflush(stderr);
    std::ifstream in(dir_ / "err.txt");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  static int count(const std::string& text, const std::string& needle) {
    int n = 0;
    for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) ++n;
    return n;
  }

 private:
  void restore() {
    if (saved_ < 0) return;
    std::fflush(stderr);
    ::dup2(saved_, 2);
    ::close(saved_);
    saved_ = -1;
  }
  TempDir dir_;
  int saved_ = -1;
};

}  // namespace keel::test
