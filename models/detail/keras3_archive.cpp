#include "keel/models/detail/keras3_archive.h"

#include <fmt/format.h>

#include <cstring>
#include <ctime>
#include <optional>

#include "keel/core/detail/zip_archive.h"
#include "keel/core/error.h"
#include "keel/layers/weight_creation_check.h"
#include "keel/models/detail/atomic_file.h"
#include "keel/models/detail/hdf5.h"
#include "keel/models/detail/keras3_config.h"
#include "keel/models/detail/keras3_weights.h"
#include "keel/models/keras_files.h"
#include "keel/models/model.h"

namespace keel::models::detail {
namespace {

constexpr const char* kConfigMember = "config.json";
constexpr const char* kMetadataMember = "metadata.json";
constexpr const char* kWeightsMember = "model.weights.h5";
// config.json is text describing layers; anything near this size is not a model description.
constexpr std::uint64_t kMaxConfigBytes = 64ull << 20;
// model.weights.h5 holds the weights, at most three optimizer slots per weight, and HDF5's own structures.
constexpr std::uint64_t kWeightsPerVariableByte = 8;  // a float64 file for a float32 model doubles it
constexpr std::uint64_t kHdf5Overhead = 16ull << 20;

std::string date_saved() {
  std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d@%H:%M:%S", &local);
  return text;
}

std::uint64_t weight_bytes(const Model& model) {
  std::uint64_t total = 0;
  for (const Variable& v : model.weights()) total += static_cast<std::uint64_t>(v.value().numel()) * dtype_size(v.dtype());
  return total;
}

}  // namespace

bool is_zip_archive(std::span<const std::byte> bytes) {
  return bytes.size() >= 4 && std::memcmp(bytes.data(), "PK\x03\x04", 4) == 0;
}

void write_keras3_archive(const Model& model, const std::filesystem::path& path, bool include_optimizer) {
  const std::string config = keras3_model_config(model).dump();
  const std::string metadata =
      nlohmann::json{{"keras_version", kKerasFormatVersion}, {"date_saved", date_saved()}}.dump();
  const std::string weights = keras3_weights_file_bytes(model, include_optimizer, path.string() + "/" + kWeightsMember);
  io::atomic_write_file(path, io::zip_archive_bytes({{kMetadataMember, metadata}, {kConfigMember, config},
                                                    {kWeightsMember, weights}},
                                                   fmt::format("save '{}'", path.string())));
}

std::shared_ptr<Model> load_keras3_archive(std::span<const std::byte> bytes, const std::string& path) {
  io::ZipReader archive(bytes, path);
  for (const char* member : {kConfigMember, kWeightsMember})
    if (!archive.contains(member))
      throw IOError(fmt::format("load_model: '{}' is a zip archive without '{}', so not a Keras 3 .keras file", path,
                                member));
  const std::vector<std::byte> config = archive.read(kConfigMember, kMaxConfigBytes);
  // load_keras3_weights below assigns every weight (or throws), so the initializers' values would be overwritten.
  std::optional<layers::ScopedWeightCreationCheck> zeros(std::in_place, layers::WeightCreationCheck{},
                                                         layers::InitialValues::zeros);
  std::shared_ptr<Model> model;
  try {
    model = model_from_json(std::string(reinterpret_cast<const char*>(config.data()), config.size()));
  } catch (const IOError&) {
    throw;
  } catch (const Error& e) {
    throw IOError(fmt::format("load_model: '{}' member '{}': {}", path, kConfigMember, e.what()));
  } catch (const nlohmann::json::exception& e) {
    throw IOError(fmt::format("load_model: '{}' member '{}' is not a Keras 3 model config: {}", path, kConfigMember,
                              e.what()));
  }
  if (!model) throw IOError(fmt::format("load_model: '{}' member '{}' does not describe a model", path, kConfigMember));
  if (!model->built()) model->build_from_declared_input();
  zeros.reset();
  if (!model->built())
    throw IOError(fmt::format("load_model: '{}' member '{}' does not record the model's input shape", path,
                              kConfigMember));
  const std::uint64_t bound = weight_bytes(*model) * kWeightsPerVariableByte + kHdf5Overhead;
  const std::vector<std::byte> weights = archive.read(kWeightsMember, bound);
  load_keras3_weights(*model, io::hdf5::File::open_bytes(weights, path + "/" + kWeightsMember), true);
  return model;
}

}  // namespace keel::models::detail
