// keel's own reader of plain HDF5 files against libhdf5: on every real Keras file of ../shared/keras_files
// and on files written here with libhdf5's C API, its snapshot must encode to the same bytes as the one
// libhdf5 gives (hdf5_snapshot.h); on anything else it must decline, and on damaged files it must either
// decline or give a snapshot, never crash or read out of bounds (the ASan suite runs this too).
#include "keel/models/detail/hdf5_plain_reader.h"

#include <hdf5.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "support/file_bytes.h"
#include "support/hdf5_fixture.h"
#include "support/temp_dir.h"

namespace hdf5 = keel::io::hdf5;

namespace {

std::filesystem::path keras_file(const std::string& name) {
  return std::filesystem::path(KEEL_SOURCE_DIR) / ".." / "shared" / "keras_files" / name;
}

std::vector<std::byte> encoded(const hdf5::Snapshot& snapshot) {
  std::vector<std::byte> out(64 << 20);
  const std::optional<std::size_t> size = hdf5::encode(snapshot, out);
  REQUIRE(size);
  out.resize(*size);
  return out;
}

// The plain reader's snapshot, which must exist and equal libhdf5's.
void require_same_as_libhdf5(const std::vector<std::byte>& image, const std::vector<std::string>& unread) {
  const hdf5::SnapshotLimits limits = hdf5::snapshot_limits(image.size(), unread);
  const std::optional<hdf5::Snapshot> plain = hdf5::read_plain_snapshot(image, limits);
  REQUIRE(plain);
  const hdf5::Snapshot reference = hdf5::read_snapshot(image, limits);
  REQUIRE(reference.problem.empty());
  CHECK(encoded(*plain) == encoded(reference));
}

// A file h5py would write: default properties, strings of both kinds, float and integer datasets, a
// scalar, an empty list attribute (h5py's [] is an empty float64 array), a non-string attribute and a
// soft link.
std::vector<std::byte> plain_fixture(const std::filesystem::path& path) {
  hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  hid_t group = H5Gcreate2(file, "dense", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  keel::test::write_string_attribute(file, "model_config", "{\"class_name\": \"Sequential\"}");
  hid_t scalar = H5Screate(H5S_SCALAR);
  hid_t fixed = H5Tcopy(H5T_C_S1);
  H5Tset_size(fixed, 6);
  hsize_t two = 2, zero = 0, three = 3;
  hid_t space2 = H5Screate_simple(1, &two, nullptr), empty = H5Screate_simple(1, &zero, nullptr);
  hid_t names = H5Acreate2(group, "weight_names", fixed, space2, H5P_DEFAULT, H5P_DEFAULT);
  H5Awrite(names, fixed, "kernelbias\0\0");
  hid_t none = H5Acreate2(group, "empty_names", H5T_IEEE_F64LE, empty, H5P_DEFAULT, H5P_DEFAULT);
  hid_t number = H5Acreate2(group, "a_number", H5T_IEEE_F64LE, scalar, H5P_DEFAULT, H5P_DEFAULT);
  const double pi = 3.25;
  H5Awrite(number, H5T_NATIVE_DOUBLE, &pi);
  hid_t space3 = H5Screate_simple(1, &three, nullptr);
  const float f[3] = {1.5f, -2.0f, 1e-30f};
  const double d[3] = {0.1, -1e300, 7};
  const std::int16_t i[3] = {-3, 0, 32767};
  for (auto [name, type, memtype, data] : {std::tuple{"f32", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, (const void*)f},
                                           std::tuple{"f64", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, (const void*)d},
                                           std::tuple{"i16", H5T_STD_I16LE, H5T_NATIVE_INT16, (const void*)i}}) {
    hid_t dataset = H5Dcreate2(group, name, type, space3, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(dataset, memtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
    H5Dclose(dataset);
  }
  hid_t step = H5Dcreate2(file, "step", H5T_STD_I64LE, scalar, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  const std::int64_t s = 42;
  H5Dwrite(step, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, &s);
  H5Lcreate_soft("/dense", file, "alias", H5P_DEFAULT, H5P_DEFAULT);
  for (hid_t a : {names, none, number}) H5Aclose(a);
  for (hid_t sp : {scalar, space2, empty, space3}) H5Sclose(sp);
  H5Tclose(fixed);
  H5Dclose(step);
  H5Gclose(group);
  H5Fclose(file);
  return keel::test::file_bytes(path);
}

}  // namespace

TEST_CASE("hdf5 plain reader: every real Keras file gives libhdf5's snapshot", "[hdf5]") {
  const std::string name = GENERATE("acetone_acas_decr128.h5", "dl4j_cnn_batch_norm.h5",
                                    "dl4j_tfkeras_sepconv_cnn2d_79.h5", "tiny_ad01_dense_bn.h5", "tiny_resnet8.h5",
                                    "tiny_strww_dsconv_bn.h5", "tiny_vww96_mobilenetv1.h5",
                                    "hls4ml_mlp_streaming_hdf5_named.keras");
  INFO(name);
  const std::vector<std::byte> image = keel::test::file_bytes(keras_file(name));
  require_same_as_libhdf5(image, {});
  require_same_as_libhdf5(image, {"optimizer_weights"});
}

TEST_CASE("hdf5 plain reader: strings, numbers, scalars, empty lists and soft links as libhdf5 reads them",
          "[hdf5]") {
  keel::test::TempDir dir("hdf5_plain");
  const std::vector<std::byte> image = plain_fixture(dir / "plain.h5");
  require_same_as_libhdf5(image, {});
  const hdf5::Snapshot snapshot = *hdf5::read_plain_snapshot(image, hdf5::snapshot_limits(image.size(), {}));
  const hdf5::SnapshotGroup& dense = snapshot.root.groups.at("dense");
  CHECK(dense.attributes.at("weight_names").strings == std::vector<std::string>{"kernel", "bias"});
  CHECK(dense.attributes.at("empty_names").strings.empty());
  CHECK(dense.attributes.at("a_number").problem == "attribute 'a_number': it is not a string attribute");
  CHECK(snapshot.root.members_by_name == std::vector<std::string>{"alias", "dense", "step"});
  CHECK(snapshot.root.groups.count("alias") == 0);
  CHECK(dense.datasets.at("i16").stored == keel::DType::int64);
}

TEST_CASE("hdf5 plain reader: declines what it does not read, so libhdf5 reads it in the child", "[hdf5]") {
  keel::test::TempDir dir("hdf5_plain");
  {  // keel's own writer tracks creation order: new-style groups
    hdf5::File file = hdf5::File::create(dir / "keel.h5");
    file.root().create_group("g").write_dataset("w", keel::Tensor::from_vector({1.0, 2.0}, {2}, keel::DType::float32));
  }
  const std::vector<std::byte> keel_written = keel::test::file_bytes(dir / "keel.h5");
  CHECK_FALSE(hdf5::read_plain_snapshot(keel_written, hdf5::snapshot_limits(keel_written.size(), {})));

  {  // a chunked, compressed dataset
    hid_t file = H5Fcreate((dir / "gzip.h5").c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t n = 64;
    hid_t space = H5Screate_simple(1, &n, nullptr), plist = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(plist, 1, &n);
    H5Pset_deflate(plist, 6);
    hid_t dataset = H5Dcreate2(file, "z", H5T_IEEE_F32LE, space, H5P_DEFAULT, plist, H5P_DEFAULT);
    const std::vector<float> zeros(64, 0.0f);
    H5Dwrite(dataset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, zeros.data());
    H5Dclose(dataset);
    H5Pclose(plist);
    H5Sclose(space);
    H5Fclose(file);
  }
  const std::vector<std::byte> compressed = keel::test::file_bytes(dir / "gzip.h5");
  CHECK_FALSE(hdf5::read_plain_snapshot(compressed, hdf5::snapshot_limits(compressed.size(), {})));
  // Through File, both still read (libhdf5 in the child).
  CHECK(hdf5::File::open(dir / "gzip.h5").root().dataset_info("z").shape == keel::Shape{64});
  CHECK(hdf5::File::open(dir / "keel.h5").root().group("g").has_dataset("w"));
}

TEST_CASE("hdf5 plain reader: cut or damaged real files are declined or read, never read out of bounds", "[hdf5]") {
  const std::vector<std::byte> image = keel::test::file_bytes(keras_file("dl4j_cnn_batch_norm.h5"));
  const hdf5::SnapshotLimits limits = hdf5::snapshot_limits(image.size(), {});
  for (std::size_t cut = 0; cut < image.size(); cut += 97)
    hdf5::read_plain_snapshot(std::span(image).first(cut), limits);  // nullopt or a snapshot: both fine
  std::size_t declined = 0;
  for (std::size_t at = 0; at < image.size(); at += 13)
    for (unsigned char flip : {0x01, 0x80, 0xff}) {
      std::vector<std::byte> bad = image;
      bad[at] ^= std::byte{flip};
      declined += !hdf5::read_plain_snapshot(bad, limits);
    }
  CHECK(declined > 0);  // the checks do fire
}
