#pragma once
// Keras 3's `.keras` file: a zip archive holding metadata.json ({"keras_version", "date_saved"}),
// config.json (the model's Keras 3 configuration, models/detail/keras3_config.h) and model.weights.h5
// (models/detail/keras3_weights.h), each stored uncompressed as Keras writes them.
#include <cstddef>
#include <filesystem>
#include <memory>
#include <span>
#include <string>

namespace keel {
class Model;
}

namespace keel::models::detail {

// The Keras version keel's `.keras` files name in metadata.json: the one whose layout they follow.
inline constexpr const char* kKerasFormatVersion = "3.6.0";

// True when `bytes` start with a zip local-file header ("PK\3\4").
bool is_zip_archive(std::span<const std::byte> bytes);

// Writes `model` as a `.keras` archive, atomically.
void write_keras3_archive(const Model& model, const std::filesystem::path& path, bool include_optimizer);

// A model rebuilt from a `.keras` archive held in memory: config.json through model_from_json (compiled when
// its compile_config maps to keel), then every
// weight from model.weights.h5. Members read with libzip, sizes bounded before allocation; every failure is
// an IOError naming `path` and the member.
std::shared_ptr<Model> load_keras3_archive(std::span<const std::byte> bytes, const std::string& path);

}  // namespace keel::models::detail
