#pragma once
// Keras's image_dataset_from_directory: a dataset of (image, label) batches from a folder of images, one
// subfolder per class.
//
//   photos/
//     cats/  a.jpg b.png ...        class 0 (class names sort alphabetically)
//     dogs/  c.jpg nested/d.png ... class 1 (files in nested folders belong to their class folder)
//
//   data::ImageDataset train = data::image_dataset_from_directory("photos", {.image_size = {96, 96}});
//   auto [train, val] = data::image_dataset_from_directory("photos", {.seed = 7, .validation_split = 0.2,
//                                                                     .subset = "both"});
#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "keel/data/dataset.h"

namespace keel::data {

struct ImageDirectoryOptions {
  // "inferred": labels from the class subfolders; "" (Keras's None): no labels, every image under the
  // folder, and elements hold the image only.
  std::string labels = "inferred";
  // "int": int64 class index, shape []; "categorical": float32 one-hot [classes]; "binary": float32 [1]
  // (exactly two classes); "": no labels, as labels = "".
  std::string label_mode = "int";
  // Classes to use, in this order (a subset of the subfolders); empty: every subfolder, sorted.
  std::vector<std::string> class_names = {};
  std::string color_mode = "rgb";  // "grayscale", "rgb" or "rgba": 1, 3 or 4 channels
  // Elements are batches of this size; nullopt: single images.
  std::optional<std::int64_t> batch_size = 32;
  std::array<std::int64_t, 2> image_size = {256, 256};  // height, width after resizing
  // Shuffle the file list once (NumPy's RandomState(seed).shuffle, as Keras) and, for training data, the
  // images each epoch (a shuffle buffer of 8 batches).
  bool shuffle = true;
  std::optional<std::uint64_t> seed = std::nullopt;  // below 2^32; needed with validation_split and shuffle
  double validation_split = 0.0;                     // in (0, 1) with subset, else 0
  std::string subset = "";                           // "training", "validation", "both" or ""
  std::string interpolation = "bilinear";            // "bilinear" or "nearest"
  bool crop_to_aspect_ratio = false;                 // crop the centered window of the target's aspect first
  bool follow_links = false;                         // walk into symlinked folders inside class folders
  // Print Keras's "Found N files belonging to C classes." and "Using N files for training." lines.
  bool verbose = true;
};

// One dataset of images: the Dataset plus what Keras attaches to it.
struct ImageDataset : Dataset {
  ImageDataset(Dataset dataset, std::vector<std::string> class_names, std::vector<std::filesystem::path> file_paths)
      : Dataset(std::move(dataset)), class_names(std::move(class_names)), file_paths(std::move(file_paths)) {}
  std::vector<std::string> class_names;             // label i is class_names[i]
  std::vector<std::filesystem::path> file_paths;    // in the order of the (first-level) file shuffle
};

// What image_dataset_from_directory returns: one dataset, or with subset "both" the training and the
// validation dataset, taken apart with `auto [train, val] = ...`.
class ImageDatasets {
 public:
  explicit ImageDatasets(std::vector<ImageDataset> datasets) : datasets_(std::move(datasets)) {}
  // The one dataset; UsageError after subset "both" (take that result apart instead).
  // Implicit, so that `data::ImageDataset ds = image_dataset_from_directory(...)` reads naturally.
  operator ImageDataset() const;
  // 0: training, 1: validation; UsageError unless subset was "both".
  template <std::size_t I>
  const ImageDataset& get() const {
    return both(I);
  }

 private:
  const ImageDataset& both(std::size_t index) const;
  std::vector<ImageDataset> datasets_;
};

// Lists the images under `directory` as Keras does and returns a lazily decoding dataset. Files: the
// extensions .png, .jpg, .jpeg (any case) are images; .bmp and .gif, which Keras would also take, are an
// IOError here (keel decodes only PNG and JPEG); other files are skipped. Class folders are the
// subfolders not starting with '.', sorted by name; inside each, the files of all nested folders, sorted
// by folder then name. Labels follow the class order. validation_split: the last
// floor(validation_split * n) files of the shuffled list validate, the others train.
// Images are float32 [height, width, channels] in [0, 255] (not rescaled), decoded in parallel when a pass
// reads them. Errors: ValueError for bad options (as Keras's checks) and for a split that leaves either side
// empty; IOError naming the folder or file for a missing folder, an empty class folder, no images, and
// (when read) a corrupt or unsupported image.
ImageDatasets image_dataset_from_directory(const std::filesystem::path& directory, const ImageDirectoryOptions& options = {});

}  // namespace keel::data

template <>
struct std::tuple_size<keel::data::ImageDatasets> : std::integral_constant<std::size_t, 2> {};
template <std::size_t I>
struct std::tuple_element<I, keel::data::ImageDatasets> {
  using type = const keel::data::ImageDataset;
};
