#pragma once
// HDF5 files built and inspected with libhdf5's C API directly, in memory (the core driver), so tests of
// keel's Keras readers and writers do not go through keel's own HDF5 code.
#include <hdf5.h>

#include <catch2/catch.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace keel::test {

struct Hdf5FixtureDataset {
  std::string path;                // "layers/dense/vars/0"
  std::vector<std::uint64_t> shape;  // empty: a scalar
  std::vector<double> values;
  hid_t file_type = H5T_IEEE_F32LE;
};

// An HDF5 file image holding the given (possibly empty) groups and datasets, intermediate groups created.
inline std::string hdf5_fixture(const std::vector<std::string>& groups, const std::vector<Hdf5FixtureDataset>& datasets) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  REQUIRE(H5Pset_fapl_core(fapl, 1 << 16, 0) >= 0);
  hid_t file = H5Fcreate("fixture.h5", H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  REQUIRE(file >= 0);
  hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
  H5Pset_create_intermediate_group(lcpl, 1);
  for (const auto& g : groups) {
    if (H5Lexists(file, g.c_str(), H5P_DEFAULT) > 0) continue;
    hid_t id = H5Gcreate2(file, g.c_str(), lcpl, H5P_DEFAULT, H5P_DEFAULT);
    REQUIRE(id >= 0);
    H5Gclose(id);
  }
  for (const auto& d : datasets) {
    std::vector<hsize_t> dims(d.shape.begin(), d.shape.end());
    hid_t space = dims.empty() ? H5Screate(H5S_SCALAR) : H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
    hid_t id = H5Dcreate2(file, d.path.c_str(), d.file_type, space, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    REQUIRE(id >= 0);
    REQUIRE(H5Dwrite(id, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, d.values.data()) >= 0);
    H5Dclose(id);
    H5Sclose(space);
  }
  REQUIRE(H5Fflush(file, H5F_SCOPE_GLOBAL) >= 0);
  ssize_t size = H5Fget_file_image(file, nullptr, 0);
  REQUIRE(size > 0);
  std::string image(static_cast<std::size_t>(size), '\0');
  REQUIRE(H5Fget_file_image(file, image.data(), image.size()) == size);
  H5Pclose(lcpl);
  H5Fclose(file);
  H5Pclose(fapl);
  return image;
}

// What an HDF5 file holds: every group path, and every dataset's shape, element class and size, and values.
struct Hdf5FixtureContents {
  std::vector<std::string> groups;
  struct Dataset {
    std::vector<std::uint64_t> shape;
    H5T_class_t type_class = H5T_NO_CLASS;
    std::size_t type_size = 0;
    std::vector<double> values;
  };
  std::map<std::string, Dataset> datasets;
};

inline Hdf5FixtureContents hdf5_fixture_contents(const std::string& image) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  REQUIRE(H5Pset_fapl_core(fapl, 1 << 16, 0) >= 0);
  REQUIRE(H5Pset_file_image(fapl, const_cast<char*>(image.data()), image.size()) >= 0);
  hid_t file = H5Fopen("inspected.h5", H5F_ACC_RDONLY, fapl);
  REQUIRE(file >= 0);
  Hdf5FixtureContents out;
  auto visit = [](hid_t root, const char* name, const H5O_info_t* info, void* data) -> herr_t {
    auto& contents = *static_cast<Hdf5FixtureContents*>(data);
    if (std::string(name) == ".") return 0;
    if (info->type == H5O_TYPE_GROUP) contents.groups.push_back(name);
    if (info->type != H5O_TYPE_DATASET) return 0;
    hid_t ds = H5Dopen2(root, name, H5P_DEFAULT);
    hid_t space = H5Dget_space(ds);
    hid_t type = H5Dget_type(ds);
    Hdf5FixtureContents::Dataset d;
    int rank = H5Sget_simple_extent_ndims(space);
    std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
    H5Sget_simple_extent_dims(space, dims.data(), nullptr);
    d.shape.assign(dims.begin(), dims.end());
    d.type_class = H5Tget_class(type);
    d.type_size = H5Tget_size(type);
    d.values.resize(static_cast<std::size_t>(H5Sget_simple_extent_npoints(space)));
    H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, d.values.data());
    contents.datasets[name] = std::move(d);
    H5Tclose(type);
    H5Sclose(space);
    H5Dclose(ds);
    return 0;
  };
  REQUIRE(H5Ovisit2(file, H5_INDEX_NAME, H5_ITER_INC, visit, &out, H5O_INFO_BASIC) >= 0);
  H5Fclose(file);
  H5Pclose(fapl);
  return out;
}

}  // namespace keel::test
