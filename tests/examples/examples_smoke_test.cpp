// Every example program answers --help with exit status 0 and a usage text that names its flags.
// The binaries are looked up in the build tree; an example that was not built is skipped.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "support/run_command.h"

namespace {

void check_help(const std::string& name, const std::vector<std::string>& flags) {
  const std::filesystem::path binary = std::filesystem::path(KEEL_BINARY_DIR) / "examples" / name;
  if (!std::filesystem::exists(binary)) {
    WARN("example " << binary.string() << " is not built; skipped");
    return;
  }
  keel::test::CommandOutput out = keel::test::run_command(binary.string() + " --help 2>&1");
  INFO(name << " --help printed:\n" << out.text);
  CHECK(out.exit_status == 0);
  CHECK_THAT(out.text, Catch::Matchers::Contains("usage: " + name));
  for (const std::string& flag : flags) CHECK_THAT(out.text, Catch::Matchers::Contains(flag));
}

}  // namespace

TEST_CASE("fashion_mnist_convnet --help lists its flags", "[examples]") {
  check_help("fashion_mnist_convnet", {"--epochs", "--batch-size", "--learning-rate", "--validation-split", "--subset",
                                       "--threads", "--verbose", "--seed", "--data-dir", "--output-dir"});
}

TEST_CASE("fine_tuning --help lists its flags", "[examples]") {
  check_help("fine_tuning", {"--epochs", "--subset", "--threads", "--data-dir", "--output-dir"});
}

TEST_CASE("mlp --help lists its flags", "[examples]") {
  check_help("mlp", {"--epochs", "--batch-size", "--units", "--dropout", "--learning-rate", "--subset", "--threads",
                     "--verbose", "--data-dir"});
}

TEST_CASE("custom_layer --help lists its flags", "[examples]") {
  check_help("custom_layer", {"--epochs", "--subset", "--threads", "--data-dir", "--output-dir"});
}

TEST_CASE("an example refuses an unknown flag with a non-zero exit status", "[examples]") {
  const std::filesystem::path binary = std::filesystem::path(KEEL_BINARY_DIR) / "examples" / "mlp";
  if (!std::filesystem::exists(binary)) {
    WARN("example " << binary.string() << " is not built; skipped");
    return;
  }
  keel::test::CommandOutput out = keel::test::run_command(binary.string() + " --no-such-flag 2>&1");
  CHECK(out.exit_status == 1);
  CHECK_THAT(out.text, Catch::Matchers::Contains("unknown option --no-such-flag"));
}

TEST_CASE("residual_convnet --help lists its flags", "[examples]") {
  check_help("residual_convnet", {"--epochs", "--batch-size", "--learning-rate", "--recipe", "--subset", "--threads",
                                  "--verbose", "--seed", "--data-dir", "--output-dir"});
}

TEST_CASE("mobilenet_fashion --help lists its flags", "[examples]") {
  check_help("mobilenet_fashion", {"--epochs", "--batch-size", "--learning-rate", "--alpha", "--subset", "--threads",
                                   "--verbose", "--seed", "--data-dir", "--output-dir"});
}

TEST_CASE("keras_fine_tuning --help lists its flags", "[examples]") {
  check_help("keras_fine_tuning", {"--model", "--epochs", "--fine-tune-epochs", "--batch-size", "--input-scale",
                                   "--subset", "--threads", "--verbose", "--seed", "--data-dir", "--output-dir"});
}
