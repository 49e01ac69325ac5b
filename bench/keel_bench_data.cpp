// Streaming from files against in-memory training (group "data", issue 18's speed check): one epoch of
// the reference convnet on Fashion-MNIST's training images from tensors, and from a folder of PNG files
// read by image_dataset_from_directory and prefetched, with cache() (the epoch after the one that filled the cache) and
// without (every image decoded again). The PNGs are written into a temporary folder, one subfolder per
// class, by tests/data/png_bytes.h (zlib, not keel). Folder images stay in [0, 255] as Keras's loader
// gives them; the BatchNormalization after the first convolution makes the scale irrelevant to the time.
// Run with --threads 2 for the figures; --samples N trains on the first N images only.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <keel/keel.h>
#include <unistd.h>

#include "bench_util.h"
#include "data/png_bytes.h"
#include "reference_convnet.h"

namespace {

using namespace keel;
namespace fs = std::filesystem;

constexpr std::int64_t kBatch = 64;

// A folder of x's images as 8-bit grayscale PNGs, in class subfolders named by label; removed on destruction.
class PngFolder {
 public:
  PngFolder(const Tensor& x, const Tensor& y)
      : path_(fs::temp_directory_path() / fmt::format("keel_bench_png_{}", ::getpid())) {
    fs::remove_all(path_);
    const std::int64_t n = x.size(0), side = x.size(1);
    const std::vector<double> pixels = x.to_vector(), labels = y.to_vector();
    const auto per_image = static_cast<std::size_t>(side * side);
    for (std::int64_t i = 0; i < n; ++i) {
      std::vector<std::uint8_t> gray(per_image);
      for (std::size_t p = 0; p < per_image; ++p)
        gray[p] = static_cast<std::uint8_t>(std::lround(pixels[static_cast<std::size_t>(i) * per_image + p] * 255));
      const fs::path folder = path_ / fmt::format("{}", labels[static_cast<std::size_t>(i)]);
      fs::create_directories(folder);
      const std::string png = test::png_bytes(static_cast<std::uint32_t>(side), static_cast<std::uint32_t>(side), 0, gray);
      std::ofstream(folder / fmt::format("{:05}.png", i), std::ios::binary).write(png.data(), static_cast<std::streamsize>(png.size()));
    }
  }
  PngFolder(const PngFolder&) = delete;
  PngFolder& operator=(const PngFolder&) = delete;
  ~PngFolder() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

void print_epoch(const std::string& name, const bench::Timing& t, double in_memory_ms) {
  std::cout << fmt::format("  {:<32} {:9.1f} ms/epoch ({:.1f}-{:.1f})", name, t.median_ms, t.min_ms, t.max_ms);
  if (in_memory_ms > 0) std::cout << fmt::format("  {:.2f}x in-memory", t.median_ms / in_memory_ms);
  std::cout << "\n";
}

bench::Register epoch_from_folder("data", "epoch convnet from png folder", [] {
  datasets::Split train = datasets::fashion_mnist().train;
  const std::int64_t n = bench::samples_option() > 0 ? std::min(bench::samples_option(), train.x.size(0)) : train.x.size(0);
  const Tensor x = train.x.narrow(0, 0, n), y = train.y.narrow(0, 0, n);
  std::cout << fmt::format("Reference convnet, one epoch of {} Fashion-MNIST images (batch {}, Adam)\n", n, kBatch);
  const PngFolder folder(x, y);
  const int runs = 3;
  auto model = bench::reference_convnet();

  const bench::Timing in_memory = bench::time_ms(
      [&] { model->fit(x, y, {.batch_size = kBatch, .epochs = 1, .verbose = 0, .shuffle = true}); }, runs);
  print_epoch("in-memory tensors", in_memory, 0);

  const data::ImageDirectoryOptions options{.color_mode = "grayscale", .batch_size = kBatch, .image_size = {28, 28},
                                            .seed = 1, .verbose = false};
  const data::Dataset streamed = data::Dataset(data::image_dataset_from_directory(folder.path(), options)).prefetch(2);
  print_epoch("png folder, decoded each epoch", bench::time_ms([&] { model->fit(streamed, {.epochs = 1, .verbose = 0}); }, runs),
              in_memory.median_ms);

  // time_ms's untimed first run is the epoch that fills the cache.
  const data::Dataset cached = data::Dataset(data::image_dataset_from_directory(folder.path(), options)).cache().prefetch(2);
  print_epoch("png folder, cache()d", bench::time_ms([&] { model->fit(cached, {.epochs = 1, .verbose = 0}); }, runs),
              in_memory.median_ms);
  std::cout << "  issue 18's targets: within 1.10x in-memory with cache(), within 1.35x without\n";
});

}  // namespace
