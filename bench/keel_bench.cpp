// keel's benchmark binary. `keel_bench [filter] [--threads N] [--samples N]` runs every case whose group
// or name contains the filter, printing medians (min–max) over repeated runs. --samples limits the cases
// that train on a data set to its first N samples (a quick check that they run); --keras-files names the
// folder of Keras model files the keras_files case loads.
#include <cblas.h>
#include <fmt/format.h>

#include <cstdlib>
#include <cstring>
#include <iostream>
#include <keel/keel.h>

#include "bench_util.h"

int main(int argc, char** argv) {
  std::string filter;
  int threads = 0;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--threads") == 0 && i + 1 < argc) threads = std::atoi(argv[++i]);
    else if (std::strcmp(argv[i], "--samples") == 0 && i + 1 < argc) keel::bench::samples_option() = std::atoll(argv[++i]);
    else if (std::strcmp(argv[i], "--keras-files") == 0 && i + 1 < argc) keel::bench::keras_files_option() = argv[++i];
    else if (std::strcmp(argv[i], "--help") == 0) {
      std::cout << "usage: keel_bench [filter] [--threads N] [--samples N] [--keras-files DIR]\n";
      return 0;
    } else filter = argv[i];
  }
  keel::set_num_threads(threads);
  const char* coretype = std::getenv("OPENBLAS_CORETYPE");
  std::cout << fmt::format("keel_bench: {} thread(s), OpenBLAS core {} (OPENBLAS_CORETYPE={})\n", keel::num_threads(),
                           openblas_get_corename(), coretype ? coretype : "unset");
  for (const auto& c : keel::bench::registry()) {
    if (!filter.empty() && c.group.find(filter) == std::string::npos && c.name.find(filter) == std::string::npos)
      continue;
    c.run();
  }
  return 0;
}
