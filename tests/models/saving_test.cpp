#include <catch2/catch.hpp>

#include <unistd.h>

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
#include "keel/models/atomic_file.h"
#include "keel/models/keel_file.h"
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

std::vector<std::pair<std::string, std::string>> optimizer_bytes(const optim::Optimizer& o) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [name, value] : o.state()) out.emplace_back(name, test::tensor_bytes(value));
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
  CHECK(optimizer_bytes(*loaded->optimizer()) == optimizer_bytes(*model->optimizer()));
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
