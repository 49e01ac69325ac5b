// Loading Keras files against keel's own format (group "keras_files", issue 17's check: loading and
// predicting the MobileNet files is not slower than keel's own format by more than reading the file).
// For each model file of ../shared/keras_files (or --keras-files DIR), medians over repeated runs of:
//   read         the file's bytes alone
//   child read   the forked child's read of those bytes with libhdf5 (all but optimizer_weights, as
//                load_model reads), sent back as the snapshot load_model then reads from
//                (models/detail/hdf5_isolation.h)
//   load .h5     keel::load_model of the Keras file (includes the read and the child read)
//   load .keel   keel::load_model of the same model saved once in keel's format to a temporary folder
//   + predict    each load followed by one predict of a fixed batch
// and "in-process" = load .h5 − read − child read: decoding the snapshot, translating Keras's config,
// building the model and copying the weights in (no libhdf5 in this process).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <keel/keel.h>
#include <span>
#include <unistd.h>
#include <vector>

#include "bench_util.h"
#include "keel/models/detail/hdf5_isolation.h"

namespace {

using namespace keel;
namespace fs = std::filesystem;

constexpr int kRuns = 11;
constexpr std::int64_t kBatch = 16;

struct KerasModelFile {
  const char* name;
  Shape input;  // one sample
};

const KerasModelFile kFiles[] = {{"tiny_vww96_mobilenetv1.h5", {96, 96, 3}},
                                 {"tiny_strww_dsconv_bn.h5", {30, 1, 40}},
                                 {"tiny_resnet8.h5", {32, 32, 3}}};

// One sized read, as fast as the file can be read (a byte-by-byte stream read takes several times longer).
std::vector<char> read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> bytes(static_cast<std::size_t>(fs::file_size(path)));
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return bytes;
}

void print(const std::string& stem, const std::string& what, const bench::Timing& t) {
  std::cout << fmt::format("  {:<24} {:9.2f} ms ({:.2f}-{:.2f})\n", what, t.median_ms, t.min_ms, t.max_ms);
  std::printf("RESULT keel keras_files_%s_%s %d %.6g ms\n", stem.c_str(), what.c_str(), num_threads(), t.median_ms);
  std::fflush(stdout);
}

double max_abs_difference(const Tensor& a, const Tensor& b) {
  const std::vector<double> x = a.to_vector(), y = b.to_vector();
  double worst = x.size() == y.size() ? 0.0 : INFINITY;
  for (std::size_t i = 0; i < x.size() && i < y.size(); ++i) worst = std::max(worst, std::abs(x[i] - y[i]));
  return worst;
}

void time_file(const fs::path& path, const Shape& input, const fs::path& scratch) {
  const std::string stem = path.stem().string();
  const std::vector<char> bytes = read_bytes(path);
  std::cout << fmt::format("{} ({:.1f} KiB), predict batch {}\n", path.filename().string(), bytes.size() / 1024.0,
                           kBatch);
  const fs::path keel_path = scratch / (stem + ".keel");
  load_model(path)->save(keel_path);
  Shape batch_shape{kBatch};
  batch_shape.insert(batch_shape.end(), input.begin(), input.end());
  const Tensor x = random::normal(batch_shape, 0, 1, 17);

  const bench::Timing read = bench::time_ms([&] { read_bytes(path); }, kRuns);
  const bench::Timing child = bench::time_ms(
      [&] {
        io::hdf5::read_in_child_process(std::as_bytes(std::span<const char>(bytes)), path.string(),
                                        {"optimizer_weights"});
      },
      kRuns);
  const bench::Timing load_h5 = bench::time_ms([&] { load_model(path); }, kRuns);
  const bench::Timing load_keel = bench::time_ms([&] { load_model(keel_path); }, kRuns);
  const bench::Timing h5_predict = bench::time_ms([&] { load_model(path)->predict(x); }, kRuns);
  const bench::Timing keel_predict = bench::time_ms([&] { load_model(keel_path)->predict(x); }, kRuns);
  print(stem, "read", read);
  print(stem, "child_read", child);
  print(stem, "load_h5", load_h5);
  print(stem, "load_keel", load_keel);
  print(stem, "load_h5_predict", h5_predict);
  print(stem, "load_keel_predict", keel_predict);
  const double in_process = load_h5.median_ms - read.median_ms - child.median_ms;
  std::cout << fmt::format("  in-process parse and build {:8.2f} ms (load .h5 - read - child read)\n", in_process);
  std::printf("RESULT keel keras_files_%s_in_process %d %.6g ms\n", stem.c_str(), num_threads(), in_process);
  std::cout << fmt::format(
      "  load+predict: .h5 is {:+.2f} ms against .keel; reading the .h5 takes {:.2f} ms (issue 17: at most that)\n",
      h5_predict.median_ms - keel_predict.median_ms, read.median_ms);
  std::cout << fmt::format("  predictions of the two loads differ by at most {:.3g}\n",
                           max_abs_difference(load_model(path)->predict(x), load_model(keel_path)->predict(x)));
}

bench::Register keras_files("keras_files", "load keras .h5 against .keel", [] {
  const fs::path dir = bench::keras_files_option().empty() ? fs::path(KEEL_SOURCE_DIR) / ".." / "shared" / "keras_files"
                                                            : fs::path(bench::keras_files_option());
  std::cout << fmt::format("Loading Keras files against keel's format, {} runs each (files from {})\n", kRuns,
                           dir.string());
  const fs::path scratch = fs::temp_directory_path() / fmt::format("keel_bench_keras_{}", ::getpid());
  fs::create_directories(scratch);
  for (const KerasModelFile& file : kFiles) {
    const fs::path path = dir / file.name;
    if (!fs::is_regular_file(path)) {
      std::cout << fmt::format("  skipped: {} not found (pass --keras-files DIR)\n", path.string());
      continue;
    }
    time_file(path, file.input, scratch);
  }
  std::error_code ec;
  fs::remove_all(scratch, ec);
});

}  // namespace
