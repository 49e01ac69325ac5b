// Writes the fuzzer's seed corpus into the directory given as argv[1]: small valid files covering every
// dtype, an empty and a scalar tensor, a config, extra metadata and a foreign (non-keel) file; real saved
// models (trained, compiled but untrained, mid-fine-tune with a frozen layer); and hostile variants of a
// saved model: a bad compile section, out-of-range optimizer iterations, a config asking for a huge layer,
// position-numbered optimizer slots, a negative format_version and a zip file's magic bytes. With four
// arguments, also the encoded HDF5 snapshots of the real Keras files (keel_fuzz_hdf5_snapshot's seeds).
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <string>

#include <nlohmann/json.hpp>

#include "keel/core/random.h"
#include "keel/layers/batch_normalization.h"
#include "keel/layers/dense.h"
#include "keel/layers/input.h"
#include "keel/models/detail/atomic_file.h"
#include "keel/models/detail/hdf5_snapshot.h"
#include "keel/models/detail/keel_file.h"
#include "keel/models/functional.h"
#include "keel/models/sequential.h"

namespace {

namespace fs = std::filesystem;
using keel::DType;
using keel::io::TensorBytes;
using keel::io::TensorView;

std::vector<TensorView> views_of(const std::vector<TensorBytes>& tensors) {
  std::vector<TensorView> views;
  for (const auto& t : tensors) views.push_back({t.name, t.dtype, t.shape, t.bytes.data(), t.bytes.size()});
  return views;
}

void write_basic_files(const fs::path& dir) {
  const float kernel[6] = {0.5f, -1.0f, 2.0f, 0.0f, 1e-3f, -7.25f};
  const double mean[2] = {0.1, -0.2};
  const std::int64_t steps = 12;
  const bool mask[3] = {true, false, true};
  std::vector<TensorView> model = {{"layers/0/kernel", DType::float32, {2, 3}, kernel, sizeof kernel},
                                   {"layers/1/moving_mean", DType::float64, {2}, mean, sizeof mean},
                                   {"optimizer/step", DType::int64, {}, &steps, sizeof steps},
                                   {"mask", DType::boolean, {3}, mask, sizeof mask},
                                   {"empty", DType::float32, {0, 4}, nullptr, 0}};
  const std::string config =
      R"({"class_name":"Sequential","config":{"layers":[{"class_name":"Dense","config":{"units":3}}]}})";
  keel::io::atomic_write_file(dir / "model.keel", keel::io::encode_keel_file(model, config, {{"epoch", "3"}}));
  keel::io::atomic_write_file(dir / "weights.keel", keel::io::encode_keel_file({model[0]}, ""));
  keel::io::atomic_write_file(dir / "foreign.safetensors", keel::io::encode_safetensors(model, {{"format", "pt"}}));
}

std::shared_ptr<keel::Sequential> small_model() {
  auto base = std::make_shared<keel::Sequential>(
      std::vector<keel::layers::LayerPtr>{keel::layers::Dense({.units = 3}), keel::layers::Dense({.units = 3})}, "base");
  return std::make_shared<keel::Sequential>(std::vector<keel::layers::LayerPtr>{
      keel::layers::Input({.shape = {2}}), base, keel::layers::Dense({.units = 1})});
}

// Saved models: trained, compiled but never trained, and fine-tuned with the base's lower layer frozen.
void write_saved_models(const fs::path& dir) {
  keel::set_random_seed(1);
  keel::Tensor x = keel::random::normal({4, 2}, 0, 1, 2);
  keel::Tensor y = keel::random::normal({4, 1}, 0, 1, 3);
  auto untrained = small_model();
  untrained->compile({.optimizer = "rmsprop", .loss = "mse", .metrics = {"mae"}});
  untrained->save(dir / "untrained.keel");

  auto model = small_model();
  model->compile({.optimizer = "adam", .loss = "mse", .metrics = {"mae"}});
  model->train_on_batch(x, y);
  model->save(dir / "trained.keel");
  auto base = std::dynamic_pointer_cast<keel::Sequential>(model->layers()[0]);
  base->layers()[0]->set_trainable(false);
  model->compile({.optimizer = "adam", .loss = "mse"});
  model->train_on_batch(x, y);
  model->save(dir / "fine_tuned.keel");
}

using Edit = std::function<void(nlohmann::json& config, std::vector<TensorBytes>& tensors)>;

void write_variant(const fs::path& from, const fs::path& to, const Edit& edit) {
  auto bytes = keel::io::read_file_bytes(from);
  auto contents = keel::io::decode_keel_file(bytes, from.string(), true);
  auto config = nlohmann::json::parse(contents.config);
  edit(config, contents.tensors);
  keel::io::atomic_write_file(to, keel::io::encode_keel_file(views_of(contents.tensors), config.dump()));
}

template <class T>
Edit set_iterations(DType dtype, T value) {
  return [=](nlohmann::json&, std::vector<TensorBytes>& tensors) {
    for (auto& t : tensors)
      if (t.name == "optimizer/iterations") {
        t.dtype = dtype;
        t.bytes.resize(sizeof value);
        std::memcpy(t.bytes.data(), &value, sizeof value);
      }
  };
}

void write_hostile_variants(const fs::path& dir) {
  const fs::path trained = dir / "trained.keel";
  auto compile = [](std::function<void(nlohmann::json&)> change) -> Edit {
    return [change](nlohmann::json& config, std::vector<TensorBytes>&) { change(config["compile"]); };
  };
  write_variant(trained, dir / "compile_null.keel", compile([](auto& c) { c = nullptr; }));
  write_variant(trained, dir / "compile_array.keel", compile([](auto& c) { c = nlohmann::json::array(); }));
  write_variant(trained, dir / "compile_no_loss.keel", compile([](auto& c) { c.erase("loss"); }));
  write_variant(trained, dir / "compile_unknown_metric.keel", compile([](auto& c) { c["metrics"] = {"nope"}; }));
  write_variant(trained, dir / "iterations_int64_max.keel",
                set_iterations(DType::int64, std::numeric_limits<std::int64_t>::max()));
  write_variant(trained, dir / "iterations_inf.keel",
                set_iterations(DType::float64, std::numeric_limits<double>::infinity()));
  write_variant(trained, dir / "huge_units.keel", [](nlohmann::json& config, std::vector<TensorBytes>&) {
    config["model"]["config"]["layers"][2]["config"]["units"] = 10000000;
  });
  write_variant(trained, dir / "positional_slots.keel", [](nlohmann::json&, std::vector<TensorBytes>& tensors) {
    int index = 0;
    for (auto& t : tensors)
      if (t.name.starts_with("optimizer/") && t.name != "optimizer/iterations")
        t.name = "optimizer/m/" + std::to_string(index++);
  });
  auto bytes = keel::io::read_file_bytes(trained);
  auto raw = keel::io::decode_safetensors(bytes, trained.string());
  raw.metadata["format_version"] = "-1";
  keel::io::atomic_write_file(dir / "format_version_negative.keel",
                              keel::io::encode_safetensors(views_of(raw.tensors), raw.metadata));
  keel::io::atomic_write_file(dir / "zip_magic.pt", std::string("PK\x03\x04\x14\x00\x00\x00\x08\x00", 10) +
                                                        std::string(54, '\x01'));
}

// Keras 3 .keras archives as keel saves them: a compiled BatchNormalization model after a step of
// training, and a Functional model with a nested Sequential.
void write_keras_archives(const fs::path& dir) {
  keel::set_random_seed(1);
  auto sequential = std::make_shared<keel::Sequential>(std::vector<keel::layers::LayerPtr>{
      keel::layers::Input({.shape = {3}}), keel::layers::Dense({.units = 2}), keel::layers::BatchNormalization({})});
  sequential->compile({.optimizer = "adam", .loss = "mse"});
  sequential->fit(keel::random::normal({4, 3}, 0, 1, 1), keel::random::normal({4, 2}, 0, 1, 2),
                  {.batch_size = 4, .epochs = 1, .verbose = 0, .seed = 1});
  sequential->save(dir / "sequential_bn.keras");
  auto in = keel::Input({.shape = {2}});
  auto inner = std::make_shared<keel::Sequential>(
      std::vector<keel::layers::LayerPtr>{keel::layers::Input({.shape = {2}}), keel::layers::Dense({.units = 2})});
  keel::Model::functional(in, keel::layers::Dense({.units = 1})((*inner)(in)))->save(dir / "functional_nested.keras");
}

}  // namespace

// The HDF5 snapshots (models/detail/hdf5_snapshot.h) of every .h5 file in keras_dir, encoded, as the child
// process that reads an HDF5 file sends them.
void write_hdf5_snapshots(const fs::path& dir, const fs::path& keras_dir) {
  for (const auto& entry : fs::directory_iterator(keras_dir)) {
    if (entry.path().extension() != ".h5") continue;
    const std::vector<std::byte> image = keel::io::read_file_bytes(entry.path());
    const keel::io::hdf5::Snapshot snapshot =
        keel::io::hdf5::read_snapshot(image, {.max_value_bytes = 64 << 20, .unread_groups = {"optimizer_weights"}});
    std::vector<std::byte> encoded(2 * image.size() + (1 << 20));
    if (const auto size = keel::io::hdf5::encode(snapshot, encoded)) {
      encoded.resize(*size);
      keel::io::atomic_write_file(dir / (entry.path().stem().string() + ".snapshot"),
                                  {reinterpret_cast<const char*>(encoded.data()), encoded.size()});
    }
  }
}

int main(int argc, char** argv) {
  if (argc != 2 && argc != 3 && argc != 5) {
    std::fprintf(stderr, "usage: %s SEED_DIR [KERAS_SEED_DIR [SNAPSHOT_SEED_DIR KERAS_FILES_DIR]]\n", argv[0]);
    return 2;
  }
  const fs::path dir = argv[1];
  write_basic_files(dir);
  write_saved_models(dir);
  write_hostile_variants(dir);
  if (argc >= 3) write_keras_archives(argv[2]);
  if (argc == 5) write_hdf5_snapshots(argv[3], argv[4]);
  return 0;
}
