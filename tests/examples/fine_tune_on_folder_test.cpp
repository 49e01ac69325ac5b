// examples/fine_tune_on_folder on a small folder of PNGs the test writes.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

#include "data/image_files.h"
#include "keel/layers/conv2d.h"
#include "keel/layers/global_pooling2d.h"
#include "keel/layers/input.h"
#include "keel/layers/rescaling.h"
#include "keel/models/sequential.h"
#include "support/run_command.h"
#include "support/temp_dir.h"

using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {

keel::test::CommandOutput run_example(const std::string& arguments) {
  const fs::path binary = fs::path(KEEL_BINARY_DIR) / "examples" / "fine_tune_on_folder";
  return keel::test::run_command(binary.string() + " " + arguments + " 2>&1");
}

bool example_built() {
  if (fs::exists(fs::path(KEEL_BINARY_DIR) / "examples" / "fine_tune_on_folder")) return true;
  WARN("examples/fine_tune_on_folder is not built; skipped");
  return false;
}

}  // namespace

TEST_CASE("fine_tune_on_folder --help describes the folder layout and its flags", "[examples]") {
  if (!example_built()) return;
  const keel::test::CommandOutput r = run_example("--help");
  CHECK(r.exit_status == 0);
  CHECK_THAT(r.text, Contains("usage: fine_tune_on_folder FOLDER") && Contains("one subfolder per class") &&
                           Contains("cats/  cat1.jpg") && Contains("--epochs") && Contains("--image-size") &&
                           Contains("--validation-split") && Contains("--seed") && Contains("--base") &&
                           Contains("--output"));
}

TEST_CASE("fine_tune_on_folder trains a frozen base's new head on a folder of images", "[examples]") {
  if (!example_built()) return;
  keel::test::TempDir dir("fine_tune_folder");
  // Two classes of 12x12 RGB images: dark and bright, with a little variation.
  for (int i = 0; i < 5; ++i) {
    for (const auto& [name, level] : {std::pair{"dark", 20}, std::pair{"bright", 230}}) {
      std::vector<std::uint8_t> pixels(12 * 12 * 3);
      for (std::size_t p = 0; p < pixels.size(); ++p) pixels[p] = static_cast<std::uint8_t>(level + (p * 7 + i) % 20);
      keel::test::write_file_bytes(dir / name / (std::to_string(i) + ".png"), keel::test::png_bytes(12, 12, 2, pixels));
    }
  }
  const fs::path saved = dir / "tuned.keel";
  const keel::test::CommandOutput r = run_example("'" + dir.path().string() + "' --image-size 8 --epochs 2 --batch-size 4 --threads 2 --output '" +
                            saved.string() + "'");
  INFO(r.text);
  CHECK(r.exit_status == 0);
  CHECK_THAT(r.text, Contains("classes: bright dark") && Contains("8 training images, 2 validation images") &&
                           Contains("Epoch 2/2") && Contains("val_accuracy") && Contains("final val_accuracy"));
  CHECK(fs::exists(saved));

  // A saved model as the frozen base.
  auto base = std::make_shared<keel::Sequential>(std::vector<keel::layers::LayerPtr>{
      keel::layers::Input({.shape = {8, 8, 3}}), keel::layers::Rescaling({.scale = 1.0 / 255}),
      keel::layers::Conv2D({.filters = 4, .kernel_size = 3}), keel::layers::GlobalAveragePooling2D({})});
  base->build_from_declared_input();
  base->save(dir / "base.keel");
  const keel::test::CommandOutput with_base = run_example("'" + dir.path().string() + "' --image-size 8 --epochs 1 --base '" +
                                                          (dir / "base.keel").string() + "'");
  INFO(with_base.text);
  CHECK(with_base.exit_status == 0);
  CHECK_THAT(with_base.text, Contains("Non-trainable params: 112") && Contains("final val_accuracy"));

  const keel::test::CommandOutput missing = run_example("'" + (dir / "nope").string() + "'");
  CHECK(missing.exit_status == 1);
  CHECK_THAT(missing.text, Contains("nope") && Contains("does not exist"));
}
