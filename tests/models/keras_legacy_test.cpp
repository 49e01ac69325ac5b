// Real Keras legacy HDF5 files from ../shared/keras_files (README.md there says where each comes from): each
// loads through keel::load_model, predicts what Keras recorded, and has the structure the README describes.
#include <hdf5.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <iterator>
#include <span>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "keel/core/error.h"
#include "keel/core/random.h"
#include "keel/data/npy.h"
#include "keel/layers/batch_normalization.h"
#include "keel/models/functional.h"
#include "keel/models/keras_files.h"
#include "keel/models/model.h"
#include "keel/models/saving.h"
#include "keel/models/sequential.h"
#include "support/floatx.h"
#include "support/file_bytes.h"
#include "support/temp_dir.h"
#include "support/throws.h"

using Catch::Matchers::Contains;
using keel::DType;
using keel::Shape;
using keel::Tensor;

namespace {

std::filesystem::path keras_file(const std::string& name) {
  return std::filesystem::path(KEEL_SOURCE_DIR) / ".." / "shared" / "keras_files" / name;
}

std::vector<keel::layers::LayerPtr> layers_of(const keel::Model& model) { return model.sublayers(); }

std::map<std::string, int> class_counts(const keel::Model& model) {
  std::map<std::string, int> counts;
  for (const auto& layer : layers_of(model)) ++counts[layer->class_name()];
  return counts;
}

std::int64_t parameter_count(const keel::Model& model) {
  std::int64_t n = 0;
  for (const auto& w : model.weights()) n += w.value().numel();
  return n;
}

double at(const Tensor& t, std::int64_t i) {
  Tensor c = t.to(DType::float64).contiguous();
  return static_cast<const double*>(c.raw_data())[i];
}

// Keras computed in float32, so a float64 run cannot agree more closely than float32's rounding.
void check_close(double got, double want, const std::string& where) {
  INFO(where << ": keel " << got << ", Keras " << want);
  CHECK(std::abs(got - want) <= 1e-5 * std::max(std::abs(want), 1.0));
}

// One JSON list of C99 hex-float strings per line: ["0x1.8c43f8p-1", ...].
std::vector<std::vector<double>> read_hex_rows(const std::filesystem::path& path) {
  std::ifstream in(path);
  REQUIRE(in);
  std::vector<std::vector<double>> rows;
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    std::vector<double> row;
    for (std::size_t q = line.find('"'); q != std::string::npos; q = line.find('"', line.find('"', q + 1) + 1))
      row.push_back(std::strtod(line.substr(q + 1, line.find('"', q + 1) - q - 1).c_str(), nullptr));
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace

TEST_CASE("keras legacy h5: dl4j_cnn_batch_norm (Keras 2.1.3) predicts Keras's recorded outputs", "[keras_legacy]") {
  for (DType dtype : {DType::float32, DType::float64}) {
    keel::test::Floatx floatx(dtype);
    auto model = keel::load_model(keras_file("dl4j_cnn_batch_norm.h5"));
    REQUIRE(model->class_name() == "Sequential");
    CHECK(model->dtype() == dtype);
    // Conv2D 3x3x3x1 + 1, BN(1) 4, Conv2D 3x3x1x1 + 1, Flatten, Dense 36 -> 1.
    CHECK(parameter_count(*model) == 28 + 4 + 10 + 37);
    CHECK(class_counts(*model) == std::map<std::string, int>{
                                      {"Activation", 1}, {"BatchNormalization", 1}, {"Conv2D", 2}, {"Dense", 1}, {"Flatten", 1}});
    Tensor x = keel::data::load_npy(keras_file("dl4j_cnn_batch_norm_input.npy"));
    Tensor want = keel::data::load_npy(keras_file("dl4j_cnn_batch_norm_predictions.npy"));
    REQUIRE(x.shape() == Shape{5, 10, 10, 3});
    Tensor got = model->predict(x);
    REQUIRE(got.shape() == Shape{5, 1});
    REQUIRE(got.dtype() == dtype);
    for (std::int64_t i = 0; i < 5; ++i) check_close(at(got, i), at(want, i), "row " + std::to_string(i));
  }
}

TEST_CASE("keras legacy h5: acetone_acas_decr128 matches all 1,000 recorded Keras rows", "[keras_legacy]") {
  auto inputs = read_hex_rows(keras_file("acetone_acas_decr128_input.txt"));
  auto outputs = read_hex_rows(keras_file("acetone_acas_decr128_output_keras.txt"));
  REQUIRE(inputs.size() == 1000);
  REQUIRE(outputs.size() == 1000);
  std::vector<double> flat;
  for (const auto& row : inputs) {
    REQUIRE(row.size() == 5);
    flat.insert(flat.end(), row.begin(), row.end());
  }
  for (DType dtype : {DType::float32, DType::float64}) {
    keel::test::Floatx floatx(dtype);
    auto model = keel::load_model(keras_file("acetone_acas_decr128.h5"));
    // Dense 5-128-128-64-32-16-5: (in + 1) * out each.
    CHECK(parameter_count(*model) == 6 * 128 + 129 * 128 + 129 * 64 + 65 * 32 + 33 * 16 + 17 * 5);
    CHECK(class_counts(*model) == std::map<std::string, int>{{"Dense", 6}});
    Tensor got = model->predict(Tensor::from_vector(flat, {1000, 5}, dtype));
    REQUIRE(got.shape() == Shape{1000, 5});
    for (std::int64_t r = 0; r < 1000; ++r)
      for (std::int64_t c = 0; c < 5; ++c)
        check_close(at(got, r * 5 + c), outputs[r][c], "row " + std::to_string(r) + " column " + std::to_string(c));
  }
}

TEST_CASE("keras legacy h5: MLPerf Tiny ResNet-8 (tf.keras 2.4) has the README's layers and parameters",
          "[keras_legacy]") {
  auto model = keel::load_model(keras_file("tiny_resnet8.h5"));
  CHECK(model->class_name() == "Functional");
  auto counts = class_counts(*model);
  CHECK(counts["Conv2D"] == 9);
  CHECK(counts["BatchNormalization"] == 7);
  CHECK(counts["Add"] == 3);
  CHECK(counts["AveragePooling2D"] == 1);
  CHECK(counts["Flatten"] == 1);
  CHECK(counts["Dense"] == 1);
  // Filters 16, 32, 64; 3x3 convolutions with bias: 9 * in * out + out; 1x1 shortcuts: in * out + out.
  auto conv3 = [](std::int64_t in, std::int64_t out) { return 9 * in * out + out; };
  const std::int64_t convolutions = conv3(3, 16) + 2 * conv3(16, 16) + conv3(16, 32) + conv3(32, 32) + (16 * 32 + 32) +
                                    conv3(32, 64) + conv3(64, 64) + (32 * 64 + 64);
  const std::int64_t batch_norms = 4 * (16 * 3 + 32 * 2 + 64 * 2);
  const std::int64_t head = 64 * 10 + 10;
  CHECK(parameter_count(*model) == convolutions + batch_norms + head);
  CHECK(model->compute_output_shape({1, 32, 32, 3}) == Shape{1, 10});
  // Compiled from its training_config: Adam, categorical crossentropy.
  CHECK(model->compiled());
}

TEST_CASE("keras legacy h5: the MLPerf Tiny anomaly, wake-word and VWW models load with the README's structure",
          "[keras_legacy]") {
  {
    auto model = keel::load_model(keras_file("tiny_ad01_dense_bn.h5"));
    auto counts = class_counts(*model);
    CHECK(counts["Dense"] == 10);
    CHECK(counts["BatchNormalization"] == 9);
    CHECK(counts["Activation"] == 9);
    // 640-128-128-128-128-8-128-128-128-128-640, BN after every Dense but the last.
    const std::vector<std::int64_t> widths = {640, 128, 128, 128, 128, 8, 128, 128, 128, 128, 640};
    std::int64_t expected = 0;
    for (std::size_t i = 0; i + 1 < widths.size(); ++i) expected += (widths[i] + 1) * widths[i + 1];
    for (std::size_t i = 1; i + 1 < widths.size(); ++i) expected += 4 * widths[i];
    CHECK(parameter_count(*model) == expected);
  }
  {
    auto model = keel::load_model(keras_file("tiny_strww_dsconv_bn.h5"));
    auto counts = class_counts(*model);
    CHECK(counts["DepthwiseConv2D"] == 4);
    CHECK(counts["Conv2D"] == 4);
    CHECK(counts["BatchNormalization"] == 4);
    CHECK(counts["Dropout"] == 4);
    // Depthwise k x 1 (k = 3, 5, 10, 15) without bias, 1x1 convolutions without bias 40-128-128-128-32,
    // BN on each, Dense 32 -> 3.
    const std::int64_t expected = (3 * 40 + 5 * 128 + 10 * 128 + 15 * 128) +
                                  (40 * 128 + 128 * 128 + 128 * 128 + 128 * 32) + 4 * (128 * 3 + 32) + (32 * 3 + 3);
    CHECK(parameter_count(*model) == expected);
    // tf.keras 2.14's Adam (EMA off, jit_compile) and a CategoricalCrossentropy object map onto keel.
    CHECK(model->compiled());
  }
  {
    auto model = keel::load_model(keras_file("tiny_vww96_mobilenetv1.h5"));
    auto counts = class_counts(*model);
    CHECK(counts["Conv2D"] == 14);
    CHECK(counts["DepthwiseConv2D"] == 13);
    CHECK(counts["BatchNormalization"] == 27);
    // MobileNetV1 alpha 0.25, all convolutions with bias: stem 3x3x3x8; then per block a depthwise 3x3
    // (9c + c), BN(c), a pointwise (c * c' + c'), BN(c').
    const std::vector<std::pair<std::int64_t, std::int64_t>> blocks = {
        {8, 16},    {16, 32},   {32, 32},   {32, 64},   {64, 64},   {64, 128},  {128, 128},
        {128, 128}, {128, 128}, {128, 128}, {128, 128}, {128, 256}, {256, 256}};
    std::int64_t expected = (27 * 8 + 8) + 4 * 8 + (256 * 2 + 2);
    for (auto [c, out] : blocks) expected += 10 * c + 4 * c + c * out + out + 4 * out;
    CHECK(parameter_count(*model) == expected);
    CHECK(model->compute_output_shape({1, 96, 96, 3}) == Shape{1, 2});
  }
}

TEST_CASE("keras legacy h5: BN channels with moving variance 0 or tiny give exact, finite outputs",
          "[keras_legacy]") {
  keel::test::Floatx floatx(DType::float64);
  auto model = keel::load_model(keras_file("tiny_vww96_mobilenetv1.h5"));
  // The README's five "denormal" variances are tiny normal floats (6.9e-36 to 2.3e-32), counted below 1e-30.
  int zero_variance = 0, tiny_variance = 0;
  for (const auto& layer : layers_of(*model)) {
    auto bn = std::dynamic_pointer_cast<keel::layers::BatchNormalizationLayer>(layer);
    if (!bn) continue;
    std::vector<Tensor> w = bn->get_weights();  // gamma, beta, moving_mean, moving_variance
    REQUIRE(w.size() == 4);
    const std::int64_t channels = w[0].numel();
    std::vector<double> x(static_cast<std::size_t>(channels));
    for (std::int64_t c = 0; c < channels; ++c) x[c] = 0.25 * static_cast<double>(c % 7) - 0.5;
    Tensor y = (*bn)(Tensor::from_vector(x, {1, 1, 1, channels}, DType::float64), false);
    const double epsilon = bn->options().epsilon;
    for (std::int64_t c = 0; c < channels; ++c) {
      const double variance = at(w[3], c);
      // The file stores float32; the variance read into float64 is that float32 value exactly.
      if (variance == 0.0) ++zero_variance;
      if (variance > 0.0 && variance < 1e-30) ++tiny_variance;
      const double want = (x[c] - at(w[2], c)) * at(w[0], c) / std::sqrt(variance + epsilon) + at(w[1], c);
      REQUIRE(std::isfinite(at(y, c)));
      CHECK(at(y, c) == Approx(want).epsilon(1e-12).margin(1e-12));
    }
  }
  CHECK(zero_variance == 23);
  CHECK(tiny_variance == 5);
}

TEST_CASE("keras legacy h5: SeparableConv2D model from tf.keras 2.2.4 and a .keras-named HDF5 file load",
          "[keras_legacy]") {
  {
    auto model = keel::load_model(keras_file("dl4j_tfkeras_sepconv_cnn2d_79.h5"));
    auto counts = class_counts(*model);
    for (const char* name : {"SeparableConv2D", "SpatialDropout2D", "ZeroPadding2D", "UpSampling2D", "Cropping2D",
                             "AveragePooling2D"})
      CHECK(counts[name] == 2);
    CHECK(counts["GlobalAveragePooling2D"] == 1);
    // Depthwise 3x3 (multiplier 1), pointwise to 4 filters, bias: 3 -> 4, then 4 -> 4.
    CHECK(parameter_count(*model) == (27 + 12 + 4) + (36 + 16 + 4));
  }
  {
    // Legacy HDF5 despite the .keras name: the format comes from the signature, not the name.
    auto model = keel::load_model(keras_file("hls4ml_mlp_streaming_hdf5_named.keras"));
    CHECK(class_counts(*model) == std::map<std::string, int>{{"Activation", 2}, {"Dense", 2}});
    CHECK(parameter_count(*model) == (8 + 1) * 4 + (4 + 1) * 2);
    // Keras 3's "Custom>RMSprop" with no loss: uncompiled (with a warning).
    CHECK_FALSE(model->compiled());
  }
}

namespace {

// A float dataset of a Keras file read with libhdf5 directly (not through keel), as doubles.
std::vector<double> read_float_dataset(const std::filesystem::path& file, const char* path,
                                       const std::vector<hsize_t>& shape) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  REQUIRE(f >= 0);
  hid_t ds = H5Dopen2(f, path, H5P_DEFAULT);
  REQUIRE(ds >= 0);
  hid_t space = H5Dget_space(ds);
  std::vector<hsize_t> dims(static_cast<std::size_t>(H5Sget_simple_extent_ndims(space)));
  H5Sget_simple_extent_dims(space, dims.data(), nullptr);
  CHECK(dims == shape);
  std::vector<double> values(static_cast<std::size_t>(H5Sget_simple_extent_npoints(space)));
  REQUIRE(H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) >= 0);
  H5Sclose(space);
  H5Dclose(ds);
  H5Fclose(f);
  return values;
}

// relu(x · kernel + bias) for one row x, kernel [in, out] row-major.
std::vector<double> dense_relu(const std::vector<double>& x, const std::vector<double>& kernel,
                               const std::vector<double>& bias) {
  std::vector<double> out(bias);
  for (std::size_t j = 0; j < out.size(); ++j) {
    for (std::size_t i = 0; i < x.size(); ++i) out[j] += x[i] * kernel[i * out.size() + j];
    out[j] = std::max(out[j], 0.0);
  }
  return out;
}

}  // namespace

TEST_CASE("keras legacy h5: the hls4ml .keras-named file (tf.keras 2.11) predicts relu(relu(x W1 + b1) W2 + b2)",
          "[keras_legacy]") {
  const auto path = keras_file("hls4ml_mlp_streaming_hdf5_named.keras");
  // The weights as the file holds them (tf.keras 2.x paths), read with libhdf5, not keel.
  const auto w1 = read_float_dataset(path, "model_weights/fc1/fc1/kernel:0", {8, 4});
  const auto b1 = read_float_dataset(path, "model_weights/fc1/fc1/bias:0", {4});
  const auto w2 = read_float_dataset(path, "model_weights/fc2/fc2/kernel:0", {4, 2});
  const auto b2 = read_float_dataset(path, "model_weights/fc2/fc2/bias:0", {2});
  const std::vector<std::vector<double>> rows = {{1, -1, 0.5, 2, -0.25, 0, 3, -2},
                                                 {-1, 1, -0.5, -2, 0.25, 0, -3, 2},
                                                 {0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5},
                                                 {2, 0, -1, 1, 3, -2, 0.75, 1.5}};
  std::vector<double> flat;
  std::vector<std::vector<double>> want;
  int positive = 0;
  for (const auto& row : rows) {
    flat.insert(flat.end(), row.begin(), row.end());
    want.push_back(dense_relu(dense_relu(row, w1, b1), w2, b2));
    for (double v : want.back()) positive += v > 0;
  }
  REQUIRE(positive >= 2);  // the rows exercise the weights, not only relu's zeros
  for (DType dtype : {DType::float32, DType::float64}) {
    keel::test::Floatx floatx(dtype);
    auto model = keel::load_model(path);
    Tensor got = model->predict(Tensor::from_vector(flat, {4, 8}, dtype));
    REQUIRE(got.shape() == Shape{4, 2});
    REQUIRE(got.dtype() == dtype);
    for (std::int64_t r = 0; r < 4; ++r)
      for (std::int64_t c = 0; c < 2; ++c) {
        INFO("row " << r << " column " << c << ", " << dtype_name(dtype));
        CHECK(at(got, r * 2 + c) == Approx(want[r][c]).epsilon(1e-6).margin(1e-6));
      }
  }
}

namespace {

// A legacy file as tf.keras 2.x writes it, built with libhdf5 directly: Dense(2) on 3 inputs, kernel
// [[1, 2], [3, 4], [5, 6]], bias [0.5, -0.5].
struct LegacyFixture {
  std::string model_class = "Dense";
  Shape kernel_shape = {3, 2};
  bool with_bias = true;
  bool full_model = true;  // model_config + model_weights; otherwise weights only (layer_names at the root)
};

void write_strings_attribute(hid_t location, const char* name, const std::vector<std::string>& values) {
  std::size_t width = 1;
  for (const auto& v : values) width = std::max(width, v.size());
  std::vector<char> data(width * values.size(), '\0');
  for (std::size_t i = 0; i < values.size(); ++i) std::copy(values[i].begin(), values[i].end(), data.begin() + i * width);
  hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, width);
  H5Tset_strpad(type, H5T_STR_NULLPAD);
  hsize_t count = values.size();
  hid_t space = H5Screate_simple(1, &count, nullptr);
  hid_t attribute = H5Acreate2(location, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
  H5Awrite(attribute, type, data.data());
  H5Aclose(attribute);
  H5Sclose(space);
  H5Tclose(type);
}

void write_float_dataset(hid_t group, const char* name, const Shape& shape, const std::vector<float>& values) {
  std::vector<hsize_t> dims(shape.begin(), shape.end());
  hid_t space = H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
  hid_t dataset = H5Dcreate2(group, name, H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5Dwrite(dataset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data());
  H5Dclose(dataset);
  H5Sclose(space);
}

const char* kDenseJson =
    R"({"class_name": "Sequential", "config": {"name": "sequential", "layers": [{"class_name": "CLASS", "config":
    {"name": "dense", "trainable": true, "batch_input_shape": [null, 3], "dtype": "float32", "units": 2,
     "activation": "linear", "use_bias": true, "kernel_initializer": {"class_name": "GlorotUniform", "config":
     {"seed": null}}, "bias_initializer": {"class_name": "Zeros", "config": {}}, "kernel_regularizer": null,
     "bias_regularizer": null, "activity_regularizer": null, "kernel_constraint": null, "bias_constraint": null}}]}})";

std::string dense_json(const std::string& class_name) {
  std::string text = kDenseJson;
  text.replace(text.find("CLASS"), 5, class_name);
  return text;
}

void write_legacy_file(const std::filesystem::path& path, const LegacyFixture& f) {
  hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  hid_t weights = file;
  if (f.full_model) {
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, H5T_VARIABLE);
    hid_t scalar = H5Screate(H5S_SCALAR);
    hid_t attribute = H5Acreate2(file, "model_config", type, scalar, H5P_DEFAULT, H5P_DEFAULT);
    const std::string text = dense_json(f.model_class);
    const char* p = text.c_str();
    H5Awrite(attribute, type, &p);
    H5Aclose(attribute);
    H5Sclose(scalar);
    H5Tclose(type);
    weights = H5Gcreate2(file, "model_weights", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  }
  write_strings_attribute(weights, "layer_names", {"dense"});
  hid_t layer = H5Gcreate2(weights, "dense", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  std::vector<std::string> names = {"dense/kernel:0"};
  if (f.with_bias) names.push_back("dense/bias:0");
  write_strings_attribute(layer, "weight_names", names);
  hid_t inner = H5Gcreate2(layer, "dense", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  std::int64_t n = 1;
  for (auto d : f.kernel_shape) n *= d;
  std::vector<float> kernel(static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < kernel.size(); ++i) kernel[i] = static_cast<float>(i + 1);
  write_float_dataset(inner, "kernel:0", f.kernel_shape, kernel);
  if (f.with_bias) write_float_dataset(inner, "bias:0", {2}, {0.5F, -0.5F});
  H5Gclose(inner);
  H5Gclose(layer);
  if (weights != file) H5Gclose(weights);
  H5Fclose(file);
}


}  // namespace

TEST_CASE("keras legacy h5: load_model runs no initializer, so the global random stream is untouched",
          "[keras_legacy]") {
  keel::set_random_seed(5);
  const std::uint64_t expected = keel::random::next_seed();
  keel::set_random_seed(5);
  auto model = keel::load_model(keras_file("tiny_resnet8.h5"));
  CHECK(keel::random::next_seed() == expected);
  CHECK(model->compiled());
}

TEST_CASE("keras legacy h5: a weights-only file loads into the model built from the same config", "[keras_legacy]") {
  keel::test::TempDir dir("keras_legacy");
  write_legacy_file(dir / "w.h5", {.full_model = false});
  auto model = keel::model_from_json(dense_json("Dense"));
  model->load_weights(dir / "w.h5");
  // y = x W + b with x = [1, 0, 1]: row 0 + row 2 of [[1, 2], [3, 4], [5, 6]] plus [0.5, -0.5].
  Tensor y = model->predict(Tensor::from_vector({1, 0, 1}, {1, 3}));
  CHECK(at(y, 0) == 6.5);
  CHECK(at(y, 1) == 7.5);
  // The full file's weights load the same way.
  write_legacy_file(dir / "full.h5", {});
  auto other = keel::model_from_json(dense_json("Dense"));
  other->load_weights(dir / "full.h5");
  CHECK(at(other->predict(Tensor::from_vector({1, 0, 1}, {1, 3})), 0) == 6.5);
  KEEL_CHECK_THROWS(keel::load_model(dir / "w.h5"), keel::IOError, Contains("no model_config"));
}

TEST_CASE("keras legacy h5: hostile files are an IOError naming the layer, and leave the model as it was",
          "[keras_legacy]") {
  keel::test::TempDir dir("keras_legacy");
  SECTION("a dataset of the wrong shape") {
    write_legacy_file(dir / "bad.h5", {.kernel_shape = {2, 3}, .full_model = false});
    auto model = keel::model_from_json(dense_json("Dense"));
    std::vector<Tensor> before = model->get_weights();
    KEEL_CHECK_THROWS(model->load_weights(dir / "bad.h5"), keel::IOError,
                      Contains("layer 'dense'") && Contains("dense/kernel:0") && Contains("[2, 3]") &&
                          Contains("[3, 2]"));
    std::vector<Tensor> after = model->get_weights();
    for (std::size_t i = 0; i < before.size(); ++i)
      for (std::int64_t k = 0; k < before[i].numel(); ++k) CHECK(at(after[i], k) == at(before[i], k));
    // load_model refuses the config's weight before allocating it: the file holds no [3, 2] dataset.
    write_legacy_file(dir / "bad_full.h5", {.kernel_shape = {2, 3}});
    KEEL_CHECK_THROWS(keel::load_model(dir / "bad_full.h5"), keel::IOError,
                      Contains("kernel") && Contains("[3, 2]"));
  }
  SECTION("a missing weight") {
    write_legacy_file(dir / "nobias.h5", {.with_bias = false});
    KEEL_CHECK_THROWS(keel::load_model(dir / "nobias.h5"), keel::IOError, Contains("bias"));
    write_legacy_file(dir / "nobias_w.h5", {.with_bias = false, .full_model = false});
    auto model = keel::model_from_json(dense_json("Dense"));
    KEEL_CHECK_THROWS(model->load_weights(dir / "nobias_w.h5"), keel::IOError,
                      Contains("layer 'dense'") && Contains("missing weight 'bias'"));
  }
  SECTION("an unknown layer class") {
    write_legacy_file(dir / "lstm.h5", {.model_class = "LSTM"});
    KEEL_CHECK_THROWS(keel::load_model(dir / "lstm.h5"), keel::IOError,
                      Contains("'dense'") && Contains("LSTM") && Contains("Conv2D"));
  }
  SECTION("truncated files") {
    std::vector<std::byte> bytes = keel::test::file_bytes(keras_file("dl4j_cnn_batch_norm.h5"));
    for (std::size_t size : {std::size_t{8}, std::size_t{512}, bytes.size() / 2, bytes.size() - 1}) {
      INFO("first " << size << " bytes");
      CHECK_THROWS_AS(keel::load_model_from_bytes(std::span(bytes.data(), size), "cut.h5"), keel::IOError);
    }
    std::ofstream(dir / "cut.h5", std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), 4000);
    CHECK_THROWS_AS(keel::load_model(dir / "cut.h5"), keel::IOError);
  }
}
