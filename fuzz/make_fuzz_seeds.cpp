// Writes the fuzzer's seed corpus into the directory given as argv[1]: a few small valid files covering
// every dtype, an empty and a scalar tensor, a config, extra metadata and a foreign (non-keel) file.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

#include "keel/models/atomic_file.h"
#include "keel/models/keel_file.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s SEED_DIR\n", argv[0]);
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  using keel::DType;
  const float kernel[6] = {0.5f, -1.0f, 2.0f, 0.0f, 1e-3f, -7.25f};
  const double mean[2] = {0.1, -0.2};
  const std::int64_t steps = 12;
  const bool mask[3] = {true, false, true};
  std::vector<keel::io::TensorView> model = {{"layers/0/kernel", DType::float32, {2, 3}, kernel, sizeof kernel},
                                             {"layers/1/moving_mean", DType::float64, {2}, mean, sizeof mean},
                                             {"optimizer/step", DType::int64, {}, &steps, sizeof steps},
                                             {"mask", DType::boolean, {3}, mask, sizeof mask},
                                             {"empty", DType::float32, {0, 4}, nullptr, 0}};
  const std::string config =
      R"({"class_name":"Sequential","config":{"layers":[{"class_name":"Dense","config":{"units":3}}]}})";
  keel::io::atomic_write_file(dir / "model.keel", keel::io::encode_keel_file(model, config, {{"epoch", "3"}}));
  keel::io::atomic_write_file(dir / "weights.keel", keel::io::encode_keel_file({model[0]}, ""));
  keel::io::atomic_write_file(dir / "foreign.safetensors", keel::io::encode_safetensors(model, {{"format", "pt"}}));
  return 0;
}
