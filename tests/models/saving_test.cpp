#include <catch2/catch.hpp>

#include <signal.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <future>
#include <limits>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "keel/core/error.h"
#include "keel/core/random.h"
#include "keel/layers/batch_normalization.h"
#include "keel/layers/conv2d.h"
#include "keel/layers/dense.h"
#include "keel/layers/flatten.h"
#include "keel/layers/input.h"
#include "keel/models/detail/atomic_file.h"
#include "keel/models/detail/keel_file.h"
#include "keel/models/saving.h"
#include "keel/models/sequential.h"
#include "keel/optim/adam.h"
#include "models/model_test_support.h"
#include "models/save_kill_points.h"
#include "support/make_tensor.h"
#include "support/temp_dir.h"
#include "support/throws.h"

using Catch::Matchers::Contains;
using namespace keel;

namespace {

std::shared_ptr<Sequential> convnet() {
  return std::make_shared<Sequential>(std::vector<layers::LayerPtr>{
      layers::Input({.shape = {6, 6, 1}}), layers::Conv2D({.filters = 3, .kernel_size = 3}),
      layers::BatchNormalization({.momentum = 0.8}), layers::Flatten({}), layers::Dense({.units = 2})});
}

std::shared_ptr<Sequential> trained_convnet() {
  set_random_seed(31);
  auto model = convnet();
  model->compile({.optimizer = std::make_shared<optim::Adam>(optim::AdamOptions{.learning_rate = 0.01}),
                  .loss = "mse", .metrics = {"mae"}});
  model->fit(random::normal({20, 6, 6, 1}, 0, 1, 1), random::normal({20, 2}, 0, 1, 2),
             {.batch_size = 8, .epochs = 2, .verbose = 0, .seed = 1});
  return model;
}

std::vector<std::pair<std::string, std::string>> optimizer_bytes(const Model& model) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [name, value] : model.optimizer()->state(structural_weights(model)))
    out.emplace_back(name, test::tensor_bytes(value));
  return out;
}

// Dense(2 → 1) after an Input, with kernel (a, b) and bias c.
std::shared_ptr<Sequential> linear(double a, double b, double c) {
  auto model = std::make_shared<Sequential>(
      std::vector<layers::LayerPtr>{layers::Input({.shape = {2}}), layers::Dense({.units = 1})});
  model->build_from_declared_input();
  model->set_weights({test::f32({a, b}, {2, 1}), test::f32({c}, {1})});
  return model;
}

std::string read_bytes(const std::filesystem::path& p) {
  auto b = io::read_file_bytes(p);
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

void write_bytes(const std::filesystem::path& p, const std::string& s) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(s.data(), static_cast<std::streamsize>(s.size()));
}

}  // namespace

TEST_CASE("save and load_model round-trip bitwise: weights, BN statistics, optimizer state, predictions", "[saving]") {
  test::TempDir dir("roundtrip");
  auto model = trained_convnet();
  model->save(dir / "m.keel");
  auto loaded = load_model(dir / "m.keel");
  CHECK(loaded->name() == model->name());
  CHECK(test::weight_bytes(*loaded) == test::weight_bytes(*model));
  REQUIRE(loaded->optimizer());
  CHECK(loaded->optimizer()->class_name() == "Adam");
  CHECK(loaded->optimizer()->iterations() == 6);
  CHECK(optimizer_bytes(*loaded) == optimizer_bytes(*model));
  CHECK(loaded->metrics_names() == model->metrics_names());
  Tensor x = random::normal({5, 6, 6, 1}, 0, 1, 7);
  CHECK(test::tensor_bytes(loaded->predict(x)) == test::tensor_bytes(model->predict(x)));
  // Training on from either gives the same weights: the optimizer state came back whole.
  Tensor y = random::normal({5, 2}, 0, 1, 8);
  model->train_on_batch(x, y);
  loaded->train_on_batch(x, y);
  CHECK(test::weight_bytes(*loaded) == test::weight_bytes(*model));

  model->save(dir / "no_opt.keel", {.include_optimizer = false});
  auto bare = load_model(dir / "no_opt.keel");
  CHECK(test::weight_bytes(*bare) == test::weight_bytes(*model));
  CHECK(bare->optimizer()->iterations() == 0);
}

TEST_CASE("load_model runs no initializer: the file's values arrive and the global stream is untouched",
          "[saving]") {
  test::TempDir dir("no_initializers");
  auto model = trained_convnet();
  model->save(dir / "m.keel");
  model->save(dir / "m.keras");
  for (const char* name : {"m.keel", "m.keras"}) {
    INFO(name);
    set_random_seed(77);
    const std::uint64_t expected = random::next_seed();
    set_random_seed(77);
    auto loaded = load_model(dir / name);
    CHECK(random::next_seed() == expected);
    CHECK(test::weight_bytes(*loaded) == test::weight_bytes(*model));
    // Layers built after the load initialize as usual.
    auto fresh = convnet();
    fresh->build_from_declared_input();
    const std::vector<double> kernel = fresh->weights()[0].value().to_vector();
    CHECK(std::any_of(kernel.begin(), kernel.end(), [](double v) { return v != 0.0; }));
  }
}

TEST_CASE("save_weights and load_weights into the same architecture rebuilt with other names", "[saving]") {
  test::TempDir dir("weights");
  auto model = trained_convnet();
  model->save_weights(dir / "w.keel");
  auto rebuilt = convnet();  // auto names differ: conv2d_7 vs conv2d_6, ...
  CHECK(rebuilt->layers()[1]->name() != model->layers()[1]->name());
  rebuilt->load_weights(dir / "w.keel");
  CHECK(test::weight_bytes(*rebuilt) == test::weight_bytes(*model));
  Tensor x = random::normal({3, 6, 6, 1}, 0, 1, 9);
  CHECK(test::tensor_bytes(rebuilt->predict(x)) == test::tensor_bytes(model->predict(x)));
  auto unbuilt = std::make_shared<Sequential>(std::vector<layers::LayerPtr>{layers::Dense({.units = 2})});
  KEEL_CHECK_THROWS(unbuilt->load_weights(dir / "w.keel"), UsageError, Contains("must be built"));
}

TEST_CASE("file keys are structural paths, read back by a standard-library Python script", "[saving]") {
  if (std::system("python3 --version > /dev/null 2>&1") != 0) {
    WARN("python3 not found: skipping the Python reader check");
    return;
  }
  test::TempDir dir("structural");
  auto inner = linear(0.5, -1.0, 0.25);
  auto head = layers::Dense({.units = 1, .use_bias = false});
  Sequential outer({inner, head});
  outer.build_from(Shape{1, 2});
  head->set_weights({test::f32({-2.0}, {1, 1})});
  outer.save(dir / "m.keel");
  std::string command = std::string("python3 ") + KEEL_SOURCE_DIR + "/tests/models/read_safetensors.py '" +
                        (dir / "m.keel").string() + "' > '" + (dir / "out.txt").string() + "'";
  REQUIRE(std::system(command.c_str()) == 0);
  std::ifstream in(dir / "out.txt");
  std::string line, tensors;
  bool config_seen = false;
  while (std::getline(in, line)) {
    if (line.rfind("config ", 0) == 0) {
      auto config = nlohmann::json::parse(line.substr(7));
      config_seen = config["model"]["class_name"] == "Sequential";
    } else if (line.rfind("layers/", 0) == 0) {
      tensors += line + "\n";
    }
  }
  CHECK(config_seen);
  // The Input layer holds index 0 of the inner model.
  CHECK(tensors == "layers/0/layers/0/kernel F32 [2, 1] 0.5 -1.0\n"
                   "layers/0/layers/0/bias F32 [1] 0.25\n"
                   "layers/1/kernel F32 [1, 1] -2.0\n");
}

TEST_CASE("every truncated prefix of a model file is an IOError and changes nothing", "[saving]") {
  test::TempDir dir("truncated");
  auto source = linear(0.5, -1.0, 0.25);
  source->compile({.optimizer = "adam", .loss = "mse"});
  source->train_on_batch(Tensor::ones({2, 2}), Tensor::ones({2, 1}));
  source->save(dir / "full.keel");
  const std::string full = read_bytes(dir / "full.keel");
  auto target = linear(9, 9, 9);
  const auto before = test::weight_bytes(*target);
  const auto path = dir / "cut.keel";
  int failures = 0;
  for (std::size_t n = 0; n < full.size(); ++n) {
    write_bytes(path, full.substr(0, n));
    try {
      target->load_weights(path);
    } catch (const IOError& e) {
      ++failures;
      if (std::string(e.what()).find(path.string()) == std::string::npos) FAIL("no path in: " << e.what());
    }
    CHECK_THROWS_AS(load_model(path), IOError);
    REQUIRE(test::weight_bytes(*target) == before);
  }
  CHECK(failures == static_cast<int>(full.size()));
}

TEST_CASE("a flipped byte anywhere is refused or loads exactly the saved values", "[saving]") {
  test::TempDir dir("flipped");
  auto source = linear(0.5, -1.0, 0.25);
  source->compile({.optimizer = "sgd", .loss = "mse"});
  source->save(dir / "full.keel");
  const std::string full = read_bytes(dir / "full.keel");
  const auto saved = test::weight_bytes(*source);
  auto target = linear(9, 9, 9);
  const auto before = test::weight_bytes(*target);
  const auto path = dir / "flip.keel";
  int refused = 0;
  for (std::size_t i = 0; i < full.size(); ++i) {
    std::string damaged = full;
    damaged[i] = static_cast<char>(damaged[i] ^ 0x04);
    write_bytes(path, damaged);
    try {
      target->load_weights(path);
      REQUIRE(test::weight_bytes(*target) == saved);
      target->set_weights({test::f32({9, 9}, {2, 1}), test::f32({9}, {1})});
    } catch (const IOError&) {
      ++refused;
      REQUIRE(test::weight_bytes(*target) == before);
    }
    std::shared_ptr<Model> loaded;
    try {
      loaded = load_model(path);
    } catch (const IOError&) {
    }
    if (loaded) REQUIRE(test::weight_bytes(*loaded) == saved);
  }
  CHECK(refused > static_cast<int>(full.size()) * 9 / 10);
}

TEST_CASE("a file for another architecture lists every problem and changes nothing", "[saving]") {
  test::TempDir dir("mismatch");
  linear(0.5, -1.0, 0.25)->save_weights(dir / "w.keel");
  Sequential other({layers::Input({.shape = {2}}), layers::Dense({.units = 3}), layers::Dense({.units = 1})});
  other.build_from_declared_input();
  const auto before = test::weight_bytes(other);
  try {
    other.load_weights(dir / "w.keel");
    FAIL("load_weights accepted a file for another architecture");
  } catch (const IOError& e) {
    std::string m = e.what();
    CHECK_THAT(m, Contains((dir / "w.keel").string()));
    CHECK_THAT(m, Contains("'layers/0/kernel' has shape [2, 1] in the file but [2, 3] in the model"));
    CHECK_THAT(m, Contains("'layers/0/bias' has shape [1] in the file but [3] in the model"));
    CHECK_THAT(m, Contains("missing tensor 'layers/1/kernel'"));
    CHECK_THAT(m, Contains("missing tensor 'layers/1/bias'"));
  }
  CHECK(test::weight_bytes(other) == before);
  Sequential no_bias({layers::Input({.shape = {2}}), layers::Dense({.units = 1, .use_bias = false})});
  no_bias.build_from_declared_input();
  KEEL_CHECK_THROWS(no_bias.load_weights(dir / "w.keel"), IOError, Contains("unexpected tensor 'layers/0/bias'"));
}

TEST_CASE("an unknown layer class in the config is an IOError naming the path and the class", "[saving]") {
  test::TempDir dir("hostile");
  auto model = linear(0.5, -1.0, 0.25);
  model->save(dir / "m.keel");
  auto bytes = io::read_file_bytes(dir / "m.keel");
  auto contents = io::decode_keel_file(bytes, "m", true);
  auto config = nlohmann::json::parse(contents.config);
  config["model"]["config"]["layers"][1]["class_name"] = "os.system";
  std::vector<io::TensorView> views;
  for (const auto& t : contents.tensors) views.push_back({t.name, t.dtype, t.shape, t.bytes.data(), t.bytes.size()});
  io::atomic_write_file(dir / "evil.keel", io::encode_keel_file(views, config.dump()));
  KEEL_CHECK_THROWS(load_model(dir / "evil.keel"), IOError,
                    Contains((dir / "evil.keel").string()) && Contains("os.system"));
  config["model"]["config"]["layers"][1]["config"]["units"] = "many";
  io::atomic_write_file(dir / "bad.keel", io::encode_keel_file(views, config.dump()));
  CHECK_THROWS_AS(load_model(dir / "bad.keel"), IOError);
}

TEST_CASE("SIGKILL at every step of a model save leaves a file that loads as the last saved generation", "[saving]") {
  test::TempDir dir("modelkill");
  const auto target = dir / "m.keel";
  linear(0, 0.5, 0)->save(target);
  // Built before forking: a child only sets weights and saves.
  auto model = linear(0, 0.5, 0);
  model->compile({.optimizer = "sgd", .loss = "mse"});
  auto save = [&](std::int64_t g) {  // generation g: kernel (g, g + 0.5), bias -g
    const double v = static_cast<double>(g);
    model->set_weights({test::f32({v, v + 0.5}, {2, 1}), test::f32({-v}, {1})});
    model->save(target);
  };
  std::int64_t on_disk = 0;
  std::int64_t first = 1;
  for (int completed : {0, 1, 2}) {
    for (test::SavePoint point : test::kSavePoints) {
      INFO("killed at '" << static_cast<char>(point) << "' after " << completed << " completed saves");
      test::kill_during_save(save, first, completed, point);
      if (completed > 0) on_disk = first + completed - 1;
      if (test::renamed_by(point)) on_disk = first + completed;
      auto w = load_model(target)->get_weights();
      const double g = static_cast<double>(on_disk);
      CHECK(w[0].to_vector() == std::vector<double>{g, g + 0.5});
      CHECK(w[1].item() == -g);
      first += completed + 1;
    }
  }
}

namespace {

// Rewrites `from` into `to` after `edit` changed its config (parsed) and tensors; CRC-32s are recomputed,
// so only keel's semantic checks stand between the edited file and the model.
template <class Edit>
void rewrite(const std::filesystem::path& from, const std::filesystem::path& to, Edit edit) {
  auto bytes = io::read_file_bytes(from);
  auto contents = io::decode_keel_file(bytes, from.string(), true);
  auto config = nlohmann::json::parse(contents.config);
  edit(config, contents.tensors);
  std::vector<io::TensorView> views;
  for (const auto& t : contents.tensors) views.push_back({t.name, t.dtype, t.shape, t.bytes.data(), t.bytes.size()});
  io::atomic_write_file(to, io::encode_keel_file(views, config.dump()));
}

template <class T>
io::TensorBytes scalar_tensor(const std::string& name, DType dtype, T value) {
  io::TensorBytes t{name, dtype, {}, std::vector<std::byte>(sizeof value)};
  std::memcpy(t.bytes.data(), &value, sizeof value);
  return t;
}

std::vector<bool> trainable_flags(const Sequential& model) {
  std::vector<bool> flags{model.trainable()};
  for (const auto& layer : model.layers()) {
    flags.push_back(layer->trainable());
    if (auto inner = std::dynamic_pointer_cast<Sequential>(layer))
      for (const auto& sub : inner->layers()) flags.push_back(sub->trainable());
  }
  return flags;
}

}  // namespace

TEST_CASE("a compiled but untrained model saves a file load_model reads, for every optimizer", "[saving]") {
  test::TempDir dir("untrained");
  Tensor x = test::f32({1.0, 2.0, -1.0, 0.5}, {2, 2});
  Tensor y = test::f32({0.5, -0.25}, {2, 1});
  for (const char* optimizer : {"adam", "rmsprop", "adagrad", "adamw", "sgd"}) {
    INFO(optimizer);
    auto model = linear(0.5, -1.0, 0.25);
    model->compile({.optimizer = optimizer, .loss = "mse"});
    model->save(dir / "m.keel");
    std::shared_ptr<Model> loaded;
    REQUIRE_NOTHROW(loaded = load_model(dir / "m.keel"));
    CHECK(loaded->optimizer()->iterations() == 0);
    model->train_on_batch(x, y);
    loaded->train_on_batch(x, y);
    CHECK(test::weight_bytes(*loaded) == test::weight_bytes(*model));
  }
}

TEST_CASE("a model saved mid-fine-tune reloads with its trainable flags, weights and optimizer state", "[saving]") {
  test::TempDir dir("finetune");
  set_random_seed(5);
  auto base = std::make_shared<Sequential>(std::vector<layers::LayerPtr>{
      layers::Conv2D({.filters = 3, .kernel_size = 3}), layers::Conv2D({.filters = 4, .kernel_size = 3})}, "base");
  auto model = std::make_shared<Sequential>(std::vector<layers::LayerPtr>{
      layers::Input({.shape = {6, 6, 1}}), base, layers::Flatten({}), layers::Dense({.units = 2})});
  Tensor x = random::normal({4, 6, 6, 1}, 0, 1, 3);
  Tensor y = random::normal({4, 2}, 0, 1, 4);
  model->compile({.optimizer = "adam", .loss = "mse"});
  model->train_on_batch(x, y);
  // docs/fine_tuning.md: the base trainable, its lower layer frozen, compiled again.
  base->set_trainable(true);
  base->layers()[0]->set_trainable(false);
  model->compile({.optimizer = std::make_shared<optim::Adam>(optim::AdamOptions{.learning_rate = 1e-3}), .loss = "mse"});
  model->train_on_batch(x, y);
  model->train_on_batch(x, y);
  const std::vector<bool> flags = trainable_flags(*model);
  REQUIRE(flags == std::vector<bool>{true, true, false, true, true, true});
  model->save(dir / "m.keel");
  model->save(dir / "no_opt.keel", {.include_optimizer = false});
  auto optimizer_before = optimizer_bytes(*model);
  model->train_on_batch(x, y);

  std::shared_ptr<Model> loaded;
  REQUIRE_NOTHROW(loaded = load_model(dir / "m.keel"));
  auto resumed = std::dynamic_pointer_cast<Sequential>(loaded);
  CHECK(trainable_flags(*resumed) == flags);
  CHECK(optimizer_bytes(*resumed) == optimizer_before);
  CHECK(resumed->optimizer()->iterations() == 2);
  resumed->train_on_batch(x, y);
  CHECK(test::weight_bytes(*resumed) == test::weight_bytes(*model));

  auto bare = std::dynamic_pointer_cast<Sequential>(load_model(dir / "no_opt.keel"));
  CHECK(trainable_flags(*bare) == flags);
  CHECK(bare->trainable_weights().size() == 4);
}

TEST_CASE("optimizer iterations outside [0, 2^53] or not an integer are an IOError naming the file", "[saving]") {
  test::TempDir dir("iterations");
  auto model = linear(0.5, -1.0, 0.25);
  model->compile({.optimizer = "adam", .loss = "mse"});
  model->train_on_batch(test::f32({1.0, 2.0}, {1, 2}), test::f32({0.5}, {1, 1}));
  model->save(dir / "m.keel");
  auto with_iterations = [&](io::TensorBytes replacement) {
    rewrite(dir / "m.keel", dir / "bad.keel", [&](nlohmann::json&, std::vector<io::TensorBytes>& tensors) {
      for (auto& t : tensors)
        if (t.name == "optimizer/iterations") t = replacement;
    });
    return dir / "bad.keel";
  };
  const std::string name = "optimizer/iterations";
  for (auto bad : {scalar_tensor(name, DType::int64, std::numeric_limits<std::int64_t>::max()),
                   scalar_tensor(name, DType::int64, std::int64_t{-1}),
                   scalar_tensor(name, DType::float64, std::numeric_limits<double>::infinity()),
                   scalar_tensor(name, DType::float64, 9223372036854775808.0),
                   scalar_tensor(name, DType::float64, 2.5)}) {
    KEEL_CHECK_THROWS(load_model(with_iterations(bad)), IOError,
                      Contains((dir / "bad.keel").string()) && Contains("iterations"));
  }
  auto loaded = load_model(with_iterations(scalar_tensor(name, DType::int64, std::int64_t{1} << 53)));
  CHECK(loaded->optimizer()->iterations() == std::int64_t{1} << 53);
}

TEST_CASE("a bad compile section is an IOError naming the file", "[saving]") {
  test::TempDir dir("compile");
  auto model = linear(0.5, -1.0, 0.25);
  model->compile({.optimizer = "adam", .loss = "mse", .metrics = {"mae"}});
  model->save(dir / "m.keel");
  const auto bad = dir / "bad.keel";
  auto with_compile = [&](auto edit) {
    rewrite(dir / "m.keel", bad, [&](nlohmann::json& config, std::vector<io::TensorBytes>&) { edit(config["compile"]); });
    return bad;
  };
  auto refused = [&](auto edit, const std::string& also) {
    const auto file = with_compile(edit);
    KEEL_CHECK_THROWS(load_model(file), IOError, Contains(file.string()) && Contains("compile") && Contains(also));
  };
  refused([](auto& c) { c = nullptr; }, "");
  refused([](auto& c) { c = nlohmann::json::array(); }, "");
  refused([](auto& c) { c.erase("loss"); }, "loss");
  refused([](auto& c) { c.erase("optimizer"); }, "optimizer");
  refused([](auto& c) { c["optimizer"] = 7; }, "optimizer");
  refused([](auto& c) { c["metrics"] = "mae"; }, "metrics");
  refused([](auto& c) { c["metrics"] = {3}; }, "metrics");
  refused([](auto& c) { c["metrics"] = {"no_such_metric"}; }, "no_such_metric");
}

TEST_CASE("config weight shapes are compared with the file before any weight is created", "[saving]") {
  test::TempDir dir("huge");
  linear(0.5, -1.0, 0.25)->save(dir / "m.keel");
  // 2^40 units: a [2, 2^40] float kernel would be 8 TiB, so only a check before allocating can pass.
  rewrite(dir / "m.keel", dir / "huge.keel", [](nlohmann::json& config, std::vector<io::TensorBytes>&) {
    auto& dense = config["model"]["config"]["layers"][1]["config"];
    dense["units"] = std::int64_t{1} << 40;
    config["model"]["config"].erase("build_input_shape");
  });
  KEEL_CHECK_THROWS(load_model(dir / "huge.keel"), IOError,
                    Contains((dir / "huge.keel").string()) && Contains("kernel") && Contains("[2, 1099511627776]"));
}

TEST_CASE("load_model refuses what is not a regular file without blocking or reading it", "[saving]") {
  test::TempDir dir("special");
  const auto fifo = dir / "fifo.keel";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  auto pending = std::async(std::launch::async, [&] {
    try {
      load_model(fifo);
      return std::string("loaded");
    } catch (const IOError& e) {
      return std::string(e.what());
    }
  });
  if (pending.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
    // Unblock the reader (a writer that opens and closes gives it end-of-file) before failing.
    int fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
    if (fd >= 0) ::close(fd);
    pending.wait();
    FAIL("load_model blocked on a FIFO");
  }
  CHECK_THAT(pending.get(), Contains(fifo.string()) && Contains("not a regular file"));
  KEEL_CHECK_THROWS(load_model("/dev/zero"), IOError, Contains("/dev/zero") && Contains("not a regular file"));
  KEEL_CHECK_THROWS(load_model(dir.path()), IOError, Contains("not a regular file"));
}

TEST_CASE("load_model and load_weights read no more of a file than its header accounts for", "[saving]") {
  test::TempDir dir("oversized");
  auto model = linear(0.5, -1.0, 0.25);
  model->compile({.optimizer = "sgd", .loss = "mse"});
  const auto path = dir / "m.keel";
  model->save(path);
  const auto saved = std::filesystem::file_size(path);
  // 64 GiB of trailing zeros as a sparse file: reading them would take minutes and 64 GiB of memory.
  const std::uint64_t huge = std::uint64_t(1) << 36;
  std::filesystem::resize_file(path, huge);
  const std::string trailing = std::to_string(huge - saved) + " trailing bytes after the last tensor";
  KEEL_CHECK_THROWS(load_model(path), IOError, Contains(path.string()) && Contains(trailing));
  const auto before = test::weight_bytes(*model);
  KEEL_CHECK_THROWS(model->load_weights(path), IOError, Contains(trailing));
  CHECK(test::weight_bytes(*model) == before);
  std::filesystem::resize_file(path, saved + 1);
  KEEL_CHECK_THROWS(load_model(path), IOError, Contains("1 trailing bytes after the last tensor"));
  std::filesystem::resize_file(path, saved);
  CHECK_NOTHROW(load_model(path));
}
