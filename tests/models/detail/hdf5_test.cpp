// The HDF5 wrapper reads files built here with libhdf5's C API directly (as h5py would write them), and
// refuses bad ones with an IOError naming the file and the object.
#include "keel/models/detail/hdf5.h"

#include <hdf5.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "keel/core/error.h"
#include "keel/models/detail/hdf5_snapshot.h"
#include "support/file_bytes.h"
#include "support/temp_dir.h"
#include "support/throws.h"

using Catch::Matchers::Contains;
using keel::DType;
using keel::IOError;
using keel::Shape;
using keel::Tensor;
namespace hdf5 = keel::io::hdf5;

namespace {

// A Keras-like file: a group with fixed-length (NUL-padded, as h5py writes numpy bytes arrays) and
// variable-length string attributes, and float datasets.
void write_fixture(const std::filesystem::path& path) {
  hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  hid_t group = H5Gcreate2(file, "dense", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  hid_t inner = H5Gcreate2(group, "dense", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);

  // weight_names: fixed length 14, the second padded with NULs.
  hid_t fixed = H5Tcopy(H5T_C_S1);
  H5Tset_size(fixed, 14);
  H5Tset_strpad(fixed, H5T_STR_NULLPAD);
  hsize_t two = 2;
  hid_t space2 = H5Screate_simple(1, &two, nullptr);
  hid_t names = H5Acreate2(group, "weight_names", fixed, space2, H5P_DEFAULT, H5P_DEFAULT);
  const char data[28] = "dense/kernel:0dense/bias:0\0";
  H5Awrite(names, fixed, data);
  H5Aclose(names);

  // model_config: a variable-length scalar string.
  hid_t variable = H5Tcopy(H5T_C_S1);
  H5Tset_size(variable, H5T_VARIABLE);
  hid_t scalar = H5Screate(H5S_SCALAR);
  hid_t config = H5Acreate2(file, "model_config", variable, scalar, H5P_DEFAULT, H5P_DEFAULT);
  const char* text = "{\"class_name\": \"Sequential\"}";
  H5Awrite(config, variable, &text);
  H5Aclose(config);

  // kernel float32 [2, 3] = 0..5; bias float64 [3]; an int32 dataset.
  hsize_t kdims[2] = {2, 3};
  hid_t kspace = H5Screate_simple(2, kdims, nullptr);
  hid_t kernel = H5Dcreate2(inner, "kernel:0", H5T_IEEE_F32LE, kspace, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  float k[6] = {0, 1, 2, 3, 4, 5};
  H5Dwrite(kernel, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, k);
  hsize_t three = 3;
  hid_t bspace = H5Screate_simple(1, &three, nullptr);
  hid_t bias = H5Dcreate2(inner, "bias:0", H5T_IEEE_F64LE, bspace, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  double b[3] = {0.5, -1.0 / 3.0, 4e-36};
  H5Dwrite(bias, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, b);
  hid_t ints = H5Dcreate2(inner, "step", H5T_STD_I32LE, bspace, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);

  for (hid_t d : {kernel, bias, ints}) H5Dclose(d);
  for (hid_t s : {space2, scalar, kspace, bspace}) H5Sclose(s);
  for (hid_t t : {fixed, variable}) H5Tclose(t);
  H5Gclose(inner);
  H5Gclose(group);
  H5Fclose(file);
}


void check_fixture(const hdf5::File& file) {
  hdf5::Group root = file.root();
  CHECK(root.string_attribute("model_config") == "{\"class_name\": \"Sequential\"}");
  CHECK(root.has_group("dense"));
  CHECK(root.has_group("dense/dense"));
  CHECK_FALSE(root.has_group("dense/missing/deeper"));
  CHECK_FALSE(root.has_dataset("dense"));
  hdf5::Group dense = root.group("dense");
  CHECK(dense.path() == "/dense");
  CHECK(dense.string_list_attribute("weight_names") == std::vector<std::string>{"dense/kernel:0", "dense/bias:0"});
  CHECK(dense.has_dataset("dense/kernel:0"));

  hdf5::DatasetInfo info = dense.dataset_info("dense/kernel:0");
  CHECK(info.shape == Shape{2, 3});
  CHECK(info.dtype == DType::float32);
  CHECK_FALSE(dense.dataset_info("dense/step").dtype.has_value());

  Tensor kernel = dense.read_dataset("dense/kernel:0", {2, 3}, DType::float32);
  REQUIRE(kernel.shape() == Shape{2, 3});
  for (int i = 0; i < 6; ++i) CHECK(static_cast<const float*>(kernel.raw_data())[i] == static_cast<float>(i));
  // float64 on disk into a float32 tensor rounds once; into float64 it is exact, denormal-range values included.
  Tensor bias64 = dense.read_dataset("dense/bias:0", {3}, DType::float64);
  CHECK(static_cast<const double*>(bias64.raw_data())[1] == -1.0 / 3.0);
  CHECK(static_cast<const double*>(bias64.raw_data())[2] == 4e-36);
  Tensor bias32 = dense.read_dataset("dense/bias:0", {3}, DType::float32);
  CHECK(static_cast<const float*>(bias32.raw_data())[1] == static_cast<float>(-1.0 / 3.0));
  CHECK(static_cast<const float*>(bias32.raw_data())[2] == static_cast<float>(4e-36));
}

}  // namespace

TEST_CASE("hdf5: reads groups, fixed and variable-length string attributes and float datasets", "[hdf5]") {
  keel::test::TempDir dir("hdf5");
  write_fixture(dir / "model.h5");
  check_fixture(hdf5::File::open(dir / "model.h5"));
}

TEST_CASE("hdf5: a file opened for reading is read in the child, and this process opens no libhdf5 file", "[hdf5]") {
  keel::test::TempDir dir("hdf5");
  write_fixture(dir / "model.h5");
  const ssize_t open_before = H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_FILE);
  {
    // Opened by its path, as load_model does: the child must read the real file's bytes under a name of its own.
    hdf5::File file = hdf5::File::open(dir / "model.h5");
    CHECK(H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_FILE) == open_before);
    check_fixture(file);
    KEEL_CHECK_THROWS(file.root().create_group("x"), IOError, Contains("opened for reading"));
    KEEL_CHECK_THROWS(file.root().write_string_attribute("a", "b"), IOError, Contains("opened for reading"));
    KEEL_CHECK_THROWS(file.image(), IOError, Contains("opened for reading"));
  }
  CHECK(H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_FILE) == open_before);
}

TEST_CASE("hdf5: an unread group is listed and known, and asking into it is an IOError", "[hdf5]") {
  keel::test::TempDir dir("hdf5");
  write_fixture(dir / "model.h5");
  hdf5::Group root = hdf5::File::open(dir / "model.h5", {.unread_groups = {"dense"}}).root();
  CHECK(root.children() == std::vector<std::string>{"dense"});
  CHECK(root.has_group("dense"));
  CHECK(root.has_attribute("model_config"));
  KEEL_CHECK_THROWS(root.group("dense"), IOError, Contains("'/dense'") && Contains("not read"));
  CHECK_FALSE(root.has_dataset("dense/dense/kernel:0"));
}

TEST_CASE("hdf5: soft and external links are listed as members but not followed", "[hdf5]") {
  keel::test::TempDir dir("hdf5");
  write_fixture(dir / "model.h5");
  hid_t file = H5Fopen((dir / "model.h5").c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  REQUIRE(file >= 0);
  REQUIRE(H5Lcreate_soft("/dense", file, "soft", H5P_DEFAULT, H5P_DEFAULT) >= 0);
  REQUIRE(H5Lcreate_external((dir / "other.h5").c_str(), "/", file, "external", H5P_DEFAULT, H5P_DEFAULT) >= 0);
  H5Fclose(file);
  hdf5::Group root = hdf5::File::open(dir / "model.h5").root();
  CHECK(root.children() == std::vector<std::string>{"dense", "external", "soft"});
  CHECK(root.has_group("dense"));
  CHECK_FALSE(root.has_group("soft"));
  CHECK_FALSE(root.has_group("external"));
  CHECK_FALSE(root.has_dataset("soft/dense/kernel:0"));
}

TEST_CASE("hdf5: a snapshot survives encoding, and every cut or flipped byte of it decodes or is an IOError",
          "[hdf5]") {
  keel::test::TempDir dir("hdf5");
  write_fixture(dir / "model.h5");
  const std::vector<std::byte> image = keel::test::file_bytes(dir / "model.h5");
  const hdf5::Snapshot snapshot = hdf5::read_snapshot(image, {.max_value_bytes = 1 << 20, .unread_groups = {}});
  REQUIRE(snapshot.problem.empty());
  const hdf5::SnapshotDataset& kernel = snapshot.root.groups.at("dense").groups.at("dense").datasets.at("kernel:0");
  CHECK(kernel.info.shape == Shape{2, 3});
  CHECK(kernel.stored == DType::float32);
  CHECK(kernel.values.size() == 6 * sizeof(float));

  std::vector<std::byte> encoded(1 << 16);
  const std::optional<std::size_t> size = hdf5::encode(snapshot, encoded);
  REQUIRE(size);
  encoded.resize(*size);
  CHECK_FALSE(hdf5::encode(snapshot, std::span(encoded).first(*size - 1)));  // too small: refused, not cut
  const hdf5::Snapshot back = hdf5::decode(encoded, "model.h5");
  CHECK(back.root.groups.at("dense").attributes.at("weight_names").strings ==
        std::vector<std::string>{"dense/kernel:0", "dense/bias:0"});
  CHECK(back.root.groups.at("dense").groups.at("dense").datasets.at("kernel:0").values == kernel.values);
  CHECK(back.root.members_by_name == snapshot.root.members_by_name);

  for (std::size_t cut = 0; cut < encoded.size(); ++cut)
    KEEL_CHECK_THROWS(hdf5::decode(std::span(encoded).first(cut), "model.h5"), IOError,
                      Contains("model.h5") && Contains("malformed"));
  for (std::size_t at = 0; at < encoded.size(); ++at)
    for (unsigned char flip : {0x01, 0x80, 0xff}) {
      std::vector<std::byte> bad = encoded;
      bad[at] ^= std::byte{flip};
      try {
        hdf5::decode(bad, "model.h5");
      } catch (const IOError& e) {
        CHECK_THAT(e.what(), Contains("malformed"));
      }
    }
}

TEST_CASE("hdf5: reads the same file from bytes in memory", "[hdf5]") {
  keel::test::TempDir dir("hdf5");
  write_fixture(dir / "model.h5");
  std::vector<std::byte> bytes = keel::test::file_bytes(dir / "model.h5");
  hdf5::File file = hdf5::File::open_bytes(bytes, "member model.weights.h5");
  bytes.assign(bytes.size(), std::byte{0});  // the file keeps its own copy
  CHECK(file.name() == "member model.weights.h5");
  check_fixture(file);
}

TEST_CASE("hdf5: refuses bad datasets, naming the file and the object", "[hdf5]") {
  keel::test::TempDir dir("hdf5");
  write_fixture(dir / "model.h5");
  hdf5::Group dense = hdf5::File::open(dir / "model.h5").root().group("dense");
  KEEL_CHECK_THROWS(dense.read_dataset("dense/kernel:0", {3, 2}, DType::float32), IOError,
                    Contains("model.h5") && Contains("/dense/dense/kernel:0") && Contains("[2, 3]") &&
                        Contains("[3, 2]"));
  KEEL_CHECK_THROWS(dense.read_dataset("dense/step", {3}, DType::float32), IOError,
                    Contains("/dense/dense/step") && Contains("not float32 or float64"));
  KEEL_CHECK_THROWS(dense.read_dataset("dense/gamma:0", {3}, DType::float32), IOError,
                    Contains("/dense/dense/gamma:0") && Contains("no such dataset"));
  KEEL_CHECK_THROWS(dense.read_dataset("dense/kernel:0", {2, 3}, DType::int64), IOError, Contains("int64"));
  KEEL_CHECK_THROWS(dense.group("dense/kernel:0"), IOError, Contains("no such group"));
  KEEL_CHECK_THROWS(dense.string_attribute("weight_names"), IOError, Contains("holds 2 strings"));
  KEEL_CHECK_THROWS(dense.string_attribute("layer_names"), IOError,
                    Contains("'/dense'") && Contains("no attribute 'layer_names'"));
}

TEST_CASE("hdf5: refuses missing, foreign and truncated files with an IOError", "[hdf5]") {
  keel::test::TempDir dir("hdf5");
  KEEL_CHECK_THROWS(hdf5::File::open(dir / "absent.h5"), IOError, Contains("absent.h5") && Contains("no such file"));
  {
    std::ofstream(dir / "text.h5") << "not an HDF5 file";
  }
  KEEL_CHECK_THROWS(hdf5::File::open(dir / "text.h5"), IOError, Contains("text.h5"));

  write_fixture(dir / "model.h5");
  std::vector<std::byte> bytes = keel::test::file_bytes(dir / "model.h5");
  CHECK(hdf5::File::has_signature(bytes));
  const std::vector<std::byte> text(16, std::byte{'x'});
  KEEL_CHECK_THROWS(hdf5::File::open_bytes(text, "x.h5"), IOError, Contains("x.h5") && Contains("signature"));
  // Every truncation either fails to open or fails on the read that reaches past the end; none crashes.
  for (std::size_t size : {std::size_t{8}, std::size_t{100}, bytes.size() / 2, bytes.size() - 1}) {
    std::span<const std::byte> head(bytes.data(), size);
    CHECK_THROWS_AS(
        [&] {
          hdf5::File file = hdf5::File::open_bytes(head, "cut.h5");
          hdf5::Group dense = file.root().group("dense");
          dense.string_list_attribute("weight_names");
          dense.read_dataset("dense/kernel:0", {2, 3}, DType::float32);
          dense.read_dataset("dense/bias:0", {3}, DType::float64);
        }(),
        IOError);
  }
}

TEST_CASE("hdf5: writes groups in creation order, string attributes and datasets that libhdf5 reads back", "[hdf5]") {
  keel::test::TempDir dir("hdf5");
  {
    hdf5::File file = hdf5::File::create(dir / "out.h5");
    hdf5::Group root = file.root();
    for (const char* name : {"zeta", "alpha", "mid"}) root.create_group(name);
    root.write_string_attribute("keras_version", "3.5.0");
    root.write_string_list_attribute("layer_names", {"zeta", "alpha"});
    root.group("alpha").write_dataset("w", Tensor::from_vector({1.5, -2.0, 3.25, 0.0}, {2, 2}, DType::float64));
    CHECK(root.children(hdf5::Order::creation) == std::vector<std::string>{"zeta", "alpha", "mid"});
    CHECK(root.children(hdf5::Order::name) == std::vector<std::string>{"alpha", "mid", "zeta"});
  }
  hid_t file = H5Fopen((dir / "out.h5").c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  REQUIRE(file >= 0);
  hid_t dataset = H5Dopen2(file, "/alpha/w", H5P_DEFAULT);
  hid_t type = H5Dget_type(dataset);
  CHECK(H5Tget_class(type) == H5T_FLOAT);
  CHECK(H5Tget_size(type) == 8);
  double w[4] = {};
  H5Dread(dataset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, w);
  CHECK(w[0] == 1.5);
  CHECK(w[1] == -2.0);
  CHECK(w[2] == 3.25);
  hid_t attribute = H5Aopen(file, "keras_version", H5P_DEFAULT);
  hid_t memtype = H5Tcopy(H5T_C_S1);
  H5Tset_size(memtype, H5T_VARIABLE);
  H5Tset_cset(memtype, H5T_CSET_UTF8);  // h5py's str
  char* version = nullptr;
  REQUIRE(H5Aread(attribute, memtype, &version) >= 0);
  REQUIRE(version != nullptr);
  CHECK(std::string(version) == "3.5.0");
  H5free_memory(version);
  H5Tclose(memtype);
  H5Aclose(attribute);
  H5Tclose(type);
  H5Dclose(dataset);
  H5Fclose(file);

  // An h5py-style file does not track creation order: listing in that order is refused.
  write_fixture(dir / "plain.h5");
  KEEL_CHECK_THROWS(hdf5::File::open(dir / "plain.h5").root().children(hdf5::Order::creation), IOError,
                    Contains("creation order"));
  CHECK(hdf5::File::open(dir / "plain.h5").root().children() == std::vector<std::string>{"dense"});
}

TEST_CASE("hdf5: a file created in memory gives its bytes, with int64 scalars libhdf5 reads back", "[hdf5]") {
  using keel::io::hdf5::File;
  File file = File::create_in_memory("mem.h5");
  file.root().create_group("optimizer").write_dataset("iterations", Tensor::scalar(42, DType::int64));
  file.root().write_dataset("w", Tensor::from_vector({1.5, -2}, {2}, DType::float32));
  const std::string image = file.image();
  REQUIRE(File::has_signature({reinterpret_cast<const std::byte*>(image.data()), image.size()}));

  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  REQUIRE(H5Pset_fapl_core(fapl, 1 << 16, 0) >= 0);
  REQUIRE(H5Pset_file_image(fapl, const_cast<char*>(image.data()), image.size()) >= 0);
  hid_t f = H5Fopen("mem_check.h5", H5F_ACC_RDONLY, fapl);
  REQUIRE(f >= 0);
  hid_t ds = H5Dopen2(f, "optimizer/iterations", H5P_DEFAULT);
  REQUIRE(ds >= 0);
  hid_t type = H5Dget_type(ds);
  CHECK(H5Tget_class(type) == H5T_INTEGER);
  CHECK(H5Tget_size(type) == 8);
  hid_t space = H5Dget_space(ds);
  CHECK(H5Sget_simple_extent_ndims(space) == 0);
  long long value = 0;
  REQUIRE(H5Dread(ds, H5T_NATIVE_LLONG, H5S_ALL, H5S_ALL, H5P_DEFAULT, &value) >= 0);
  CHECK(value == 42);
  float w[2] = {0, 0};
  hid_t wds = H5Dopen2(f, "w", H5P_DEFAULT);
  REQUIRE(H5Dread(wds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, w) >= 0);
  CHECK(w[0] == 1.5f);
  CHECK(w[1] == -2.0f);
  H5Dclose(wds);
  H5Sclose(space);
  H5Tclose(type);
  H5Dclose(ds);
  H5Fclose(f);
  H5Pclose(fapl);
}
