#include "keel/models/saving.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>

#include "keel/autograd/grad_mode.h"
#include "keel/core/error.h"
#include "keel/core/strategy.h"
#include "keel/layers/registry.h"
#include "keel/layers/weight_creation_check.h"
#include "keel/models/detail/atomic_file.h"
#include "keel/models/detail/hdf5.h"
#include "keel/models/detail/keras3_archive.h"
#include "keel/models/detail/keras3_weights.h"
#include "keel/models/detail/keras_legacy_h5.h"
#include "keel/models/detail/training_state.h"
#include "keel/models/detail/keel_file.h"
#include "keel/models/model.h"
#include "keel/models/functional.h"
#include "keel/models/sequential.h"
#include "keel/optim/registry.h"

namespace keel {
namespace {

constexpr const char* kOptimizerPrefix = "optimizer/";

void collect(const layers::Layer& layer, const std::string& prefix, std::vector<std::pair<std::string, Variable>>& out) {
  auto subs = layer.sublayers();
  std::vector<Variable> inner;
  for (const auto& sub : subs) {
    auto w = sub->weights();
    inner.insert(inner.end(), w.begin(), w.end());
  }
  for (const Variable& v : layer.weights()) {
    bool owned_by_inner = false;
    for (const Variable& i : inner) owned_by_inner = owned_by_inner || i.same_as(v);
    if (owned_by_inner) continue;
    const std::string& full = v.name();
    out.emplace_back(prefix + full.substr(full.rfind('/') + 1), v);
  }
  for (std::size_t i = 0; i < subs.size(); ++i) collect(*subs[i], fmt::format("{}layers/{}/", prefix, i), out);
}

io::TensorView view_of(const std::string& name, const Tensor& t) {
  return {name, t.dtype(), t.shape(), t.raw_data(), static_cast<std::size_t>(t.numel()) * dtype_size(t.dtype())};
}

Tensor tensor_from(const io::TensorBytes& b) {
  Tensor t = Tensor::empty(b.shape, b.dtype);
  if (!b.bytes.empty()) std::memcpy(t.raw_data(), b.bytes.data(), b.bytes.size());
  return t;
}

// Checks every model weight against the file (all problems in one IOError), then assigns.
void apply_weights(const Model& model, const io::KeelFileContents& file, const std::string& path) {
  std::map<std::string, const io::TensorBytes*> by_name;
  for (const auto& t : file.tensors) by_name[t.name] = &t;
  auto weights = structural_weights(model);
  std::vector<std::string> problems;
  std::set<std::string> used;
  for (const auto& [name, v] : weights) {
    auto it = by_name.find(name);
    if (it == by_name.end()) {
      problems.push_back(fmt::format("missing tensor '{}' (model shape {})", name, to_string(v.shape())));
      continue;
    }
    used.insert(name);
    const io::TensorBytes& t = *it->second;
    if (t.shape != v.shape())
      problems.push_back(fmt::format("tensor '{}' has shape {} in the file but {} in the model", name, to_string(t.shape),
                                     to_string(v.shape())));
    else if (t.dtype != v.dtype())
      problems.push_back(fmt::format("tensor '{}' is {} in the file but {} in the model", name, dtype_name(t.dtype),
                                     dtype_name(v.dtype())));
  }
  for (const auto& t : file.tensors)
    if (!used.count(t.name) && t.name.rfind(kOptimizerPrefix, 0) != 0)
      problems.push_back(fmt::format("unexpected tensor '{}' (shape {}) that the model does not have", t.name,
                                     to_string(t.shape)));
  if (!problems.empty()) {
    std::string all;
    for (const auto& p : problems) all += "\n  " + p;
    throw IOError(fmt::format("load: '{}' does not match model '{}':{}", path, model.name(), all));
  }
  NoGrad no_grad;
  for (const auto& [name, v] : weights) v.assign(tensor_from(*by_name[name]));
}

// The first bytes of a file; a FIFO or device is refused (IOError) without blocking on it.
std::vector<std::byte> first_bytes(const std::filesystem::path& path, std::uint64_t n) {
  return io::read_file_bytes_as_needed(path, [n](std::span<const std::byte> b) -> std::uint64_t {
           return b.size() < n ? n : 0;
         }).bytes;
}

bool is_hdf5_file(const std::filesystem::path& path) { return io::hdf5::File::has_signature(first_bytes(path, 8)); }

// keel restores no optimizer state from a Keras legacy file, whose optimizer_weights group can hold more
// objects than the model itself (MobileNet: 388 of 694); Keras 3's weights files name theirs "optimizer".
const io::hdf5::OpenOptions kLegacyHdf5Reading{.unread_groups = {"optimizer_weights"}};

// A keel file's bytes, never more than its header accounts for (a huge file, or one that only grows
// with its trailing bytes, is refused without reading them).
std::vector<std::byte> read_keel_file_bytes(const std::filesystem::path& path) {
  io::FileBytes file = io::read_file_bytes_as_needed(path, io::safetensors_bytes_needed);
  io::require_whole_file(file.bytes, file.file_size, path.string());
  return std::move(file.bytes);
}

io::KeelFileContents read_keel_file(const std::filesystem::path& path, bool require_keel_format) {
  return io::decode_keel_file(read_keel_file_bytes(path), path.string(), require_keel_format);
}

// The "compile" section, turned into objects before the model is built (IOError naming the file otherwise).
CompileOptions read_compile_section(const nlohmann::json& section, const std::string& path) {
  auto fail = [&](const std::string& problem) -> CompileOptions {
    throw IOError(fmt::format("load_model: '{}' has an unusable compile config: {}", path, problem));
  };
  if (!section.is_object()) return fail(fmt::format("it is a JSON {}, not an object", section.type_name()));
  for (const char* key : {"optimizer", "loss"})
    if (!section.contains(key)) return fail(fmt::format("it lacks \"{}\"", key));
  // One output: a loss and an array of metric names. Several (Model::get_compile_config): an array of
  // losses, an array of arrays of names, and optionally loss_weights, an array of numbers.
  const nlohmann::json metrics = section.value("metrics", nlohmann::json::array());
  auto names = [](const nlohmann::json& list) {
    return list.is_array() && std::all_of(list.begin(), list.end(), [](const auto& m) { return m.is_string(); });
  };
  const bool per_output = section["loss"].is_array();
  if (!metrics.is_array() ||
      !(per_output ? std::all_of(metrics.begin(), metrics.end(), names) : names(metrics)))
    return fail(fmt::format("metrics {} is not an array of names{}", metrics.dump(), per_output ? " per output" : ""));
  auto metric_list = [](const nlohmann::json& list) {
    std::vector<MetricSpec> specs;
    for (const auto& m : list) specs.emplace_back(m.get<std::string>());
    return specs;
  };
  CompileOptions options;
  for (const auto& [key, read] : std::initializer_list<std::pair<const char*, std::function<void()>>>{
           {"optimizer", [&] { options.optimizer = optim::from_config(section["optimizer"]); }},
           {"loss",
            [&] {
              if (!per_output) {
                options.loss = losses::from_config(section["loss"]);
                return;
              }
              std::vector<LossSpec> list;
              for (const auto& loss : section["loss"]) list.emplace_back(losses::from_config(loss));
              options.loss = list;
            }},
           {"loss_weights",
            [&] {
              if (section.contains("loss_weights")) options.loss_weights = section["loss_weights"].get<std::vector<double>>();
            }},
           {"metrics",
            [&] {
              if (!per_output) {
                options.metrics = metric_list(metrics);
                return;
              }
              std::vector<std::vector<MetricSpec>> lists;
              for (const auto& list : metrics) lists.push_back(metric_list(list));
              options.metrics = lists;
            }}}) {
    try {
      read();
    } catch (const Error& e) {
      return fail(fmt::format("{}: {}", key, e.what()));
    } catch (const nlohmann::json::exception& e) {
      return fail(fmt::format("{}: {}", key, e.what()));
    }
  }
  return options;
}

// Lets the config create only weights whose dtype and shape the file holds, each tensor once, so a config
// that asks for more (Dense with 10^7 units) is refused before anything is allocated.
layers::WeightCreationCheck weights_the_file_holds(const io::KeelFileContents& file, const std::string& path) {
  auto available = std::make_shared<std::map<std::pair<DType, Shape>, int>>();
  for (const auto& t : file.tensors)
    if (!t.name.starts_with(kOptimizerPrefix)) ++(*available)[{t.dtype, t.shape}];
  return [available, path](const layers::Layer& layer, const std::string& weight, const Shape& shape, DType dtype) {
    auto it = available->find({dtype, shape});
    if (it == available->end() || it->second == 0)
      throw IOError(fmt::format("load_model: '{}' does not match its config: {} '{}' would create weight '{}' of {} "
                                "shape {}, but the file holds no (further) tensor of that dtype and shape",
                                path, layer.class_name(), layer.name(), weight, dtype_name(dtype), to_string(shape)));
    --it->second;
  };
}

// keel once named slots by the order in which the optimizer first saw each variable ("m/0"), which freezing
// layers changes; such a state cannot be matched to the weights reliably.
void refuse_positional_slots(const optim::NamedTensors& state, const std::string& path) {
  for (const auto& [name, value] : state) {
    auto slash = name.find('/');
    if (slash == std::string::npos || slash + 1 == name.size()) continue;
    bool slot_word = std::all_of(name.begin(), name.begin() + slash, [](char c) { return std::islower(c) || c == '_'; });
    bool index = std::all_of(name.begin() + slash + 1, name.end(), [](char c) { return std::isdigit(c); });
    if (slot_word && index)
      throw IOError(fmt::format("load_model: '{}' holds optimizer slots numbered by position ('{}{}'), as keel wrote "
                                "them before slots were keyed by weight path; they cannot be matched to the weights. "
                                "Its weights load with load_weights into the same model built in code",
                                path, kOptimizerPrefix, name));
  }
}

void load_optimizer_state(Model& model, const io::KeelFileContents& file, const std::string& path) {
  optim::NamedTensors state;
  for (const auto& t : file.tensors)
    if (t.name.starts_with(kOptimizerPrefix)) state.emplace_back(t.name.substr(std::strlen(kOptimizerPrefix)), tensor_from(t));
  if (state.empty()) return;
  refuse_positional_slots(state, path);
  try {
    model.optimizer()->load_state(state, structural_weights(model));
  } catch (const Error& e) {
    throw IOError(fmt::format("load_model: '{}' has an optimizer state that does not fit: {}", path, e.what()));
  }
}

}  // namespace

std::vector<std::pair<std::string, Variable>> structural_weights(const layers::Layer& root) {
  std::vector<std::pair<std::string, Variable>> out;
  collect(root, "", out);
  return out;
}

void register_model_classes() {
  static std::once_flag once;
  std::call_once(once, [] {
    layers::register_layer("Sequential", [](const nlohmann::json& config) -> layers::LayerPtr {
      return Sequential::from_config(config);
    });
    // Keras names a functional model's class "Functional" (Keras 3) or "Model" (tf.keras 2).
    for (const char* name : {"Functional", "Model"})
      layers::register_layer(name, [](const nlohmann::json& config) -> layers::LayerPtr {
        return Functional::from_config(config);
      });
  });
}

namespace {

// Tensors under their names in a keel file, contiguous.
using NamedTensorList = std::vector<std::pair<std::string, Tensor>>;

NamedTensorList weight_tensors(const Model& model) {
  NamedTensorList out;
  for (const auto& [name, v] : structural_weights(model)) out.emplace_back(name, v.value().contiguous());
  return out;
}

// Keras 3's formats are chosen by the name when writing, as Keras does: "x.keras", "x.weights.h5".
bool names_keras_archive(const std::filesystem::path& path) { return path.string().ends_with(".keras"); }
bool names_keras_weights(const std::filesystem::path& path) { return path.string().ends_with(".weights.h5"); }

// A Keras 3 weights file has "layers" and "vars" groups; a legacy Keras weights file has "layer_names".
bool is_keras3_weights_file(const io::hdf5::File& file) {
  const io::hdf5::Group root = file.root();
  return !root.has_attribute("layer_names") && (root.has_group("vars") || root.has_group("layers"));
}

void write_keel_file(const std::filesystem::path& path, const NamedTensorList& tensors, const std::string& config) {
  std::vector<io::TensorView> views;
  for (const auto& [name, t] : tensors) views.push_back(view_of(name, t));
  io::atomic_write_file(path, io::encode_keel_file(views, config));
}

}  // namespace

// Under a multi-replica strategy only rank 0 writes (the replicas hold the same weights).
void Model::save_weights(const std::filesystem::path& path) const {
  auto entry = state_->calls.enter(models::detail::CallGuard::Access::shared, "save_weights", name());
  if (!distribute::current_strategy().is_chief()) return;
  if (names_keras_weights(path)) {
    io::atomic_write_file(path, models::detail::keras3_weights_file_bytes(*this, true, path.string()));
    return;
  }
  write_keel_file(path, weight_tensors(*this), "");
}

void Model::save(const std::filesystem::path& path, SaveOptions options) const {
  auto entry = state_->calls.enter(models::detail::CallGuard::Access::shared, "save", name());
  if (!distribute::current_strategy().is_chief()) return;
  if (names_keras_archive(path)) {
    models::detail::write_keras3_archive(*this, path, options.include_optimizer);
    return;
  }
  NamedTensorList tensors = weight_tensors(*this);
  nlohmann::json config = {{"model", serialize()}};
  if (compiled()) {
    config["compile"] = get_compile_config();
    if (options.include_optimizer)
      for (auto& [slot, value] : optimizer()->state(structural_weights(*this)))
        tensors.emplace_back(kOptimizerPrefix + slot, value.contiguous());
  }
  write_keel_file(path, tensors, config.dump());
}

void Model::load_weights(const std::filesystem::path& path) {
  auto entry = state_->calls.enter(models::detail::CallGuard::Access::exclusive, "load_weights", name());
  // The file is read (and refused if broken) before the model is built from its Input.
  std::optional<io::hdf5::File> h5;
  std::optional<io::KeelFileContents> keel_file;
  if (is_hdf5_file(path))
    h5 = io::hdf5::File::open(path, kLegacyHdf5Reading);
  else
    keel_file = read_keel_file(path, false);
  if (!built()) build_from_declared_input();
  if (!built())
    throw UsageError(fmt::format("load_weights: model '{}' must be built (call it once, or start it with an Input) "
                                 "before loading weights from '{}'",
                                 name(), path.string()));
  if (keel_file)
    apply_weights(*this, *keel_file, path.string());
  else if (is_keras3_weights_file(*h5))
    models::detail::load_keras3_weights(*this, *h5, false);
  else
    keras::load_legacy_weights(*this, *h5);
}

std::shared_ptr<Model> load_model(const std::filesystem::path& path) {
  // Keras's legacy .h5 (also under a .keras name) is recognized by its signature, not its name.
  if (is_hdf5_file(path)) return keras::load_legacy_model(io::hdf5::File::open(path, kLegacyHdf5Reading));
  if (models::detail::is_zip_archive(first_bytes(path, 4)))
    return load_model_from_bytes(io::read_file_bytes(path), path.string());
  return load_model_from_bytes(read_keel_file_bytes(path), path.string());
}

std::shared_ptr<Model> load_model_from_bytes(std::span<const std::byte> bytes, const std::string& path) {
  if (io::hdf5::File::has_signature(bytes))
    return keras::load_legacy_model(io::hdf5::File::open_bytes(bytes, path, kLegacyHdf5Reading));
  register_model_classes();
  if (models::detail::is_zip_archive(bytes)) return models::detail::load_keras3_archive(bytes, path);
  io::KeelFileContents file = io::decode_keel_file(bytes, path, true);
  nlohmann::json config;
  if (!file.config.empty()) config = nlohmann::json::parse(file.config);  // decode_keel_file checked the syntax
  if (!config.is_object() || !config.contains("model"))
    throw IOError(fmt::format("load_model: '{}' holds weights only (no model config); build the model and call "
                              "load_weights instead",
                              path));
  std::optional<CompileOptions> compile;
  if (config.contains("compile")) compile = read_compile_section(config["compile"], path);

  std::shared_ptr<Model> model;
  try {
    // apply_weights assigns every weight (or throws), so the initializers' values would be overwritten.
    layers::ScopedWeightCreationCheck check(weights_the_file_holds(file, path), layers::InitialValues::zeros);
    model = std::dynamic_pointer_cast<Model>(layers::deserialize(config["model"]));
    if (model) model->build_from_declared_input();
  } catch (const IOError&) {
    throw;
  } catch (const Error& e) {
    throw IOError(fmt::format("load_model: '{}': {}", path, e.what()));
  } catch (const nlohmann::json::exception& e) {
    throw IOError(fmt::format("load_model: '{}' has a malformed model config ({})", path, e.what()));
  }
  if (!model) throw IOError(fmt::format("load_model: '{}' does not describe a model", path));
  if (!model->built())
    throw IOError(fmt::format("load_model: '{}' does not record the model's input shape", path));
  apply_weights(*model, file, path);
  if (compile) {
    try {
      model->compile(std::move(*compile));
    } catch (const Error& e) {
      throw IOError(fmt::format("load_model: '{}' has an unusable compile config: {}", path, e.what()));
    }
    load_optimizer_state(*model, file, path);
  }
  return model;
}

}  // namespace keel
