#include "keel/data/image_dataset.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iostream>
#include <system_error>

#include "keel/core/error.h"
#include "keel/core/random.h"
#include "keel/data/detail/image_codec.h"
#include "keel/data/detail/image_resize.h"
#include "keel/data/detail/numpy_shuffle.h"

namespace keel::data {
namespace {

namespace fs = std::filesystem;
constexpr const char* kOp = "image_dataset_from_directory";
constexpr std::uint64_t kKerasMaxRandomSeed = 1000000;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

enum class FileKind { image, unsupported_image, other };

FileKind kind_of(const fs::path& path) {
  const std::string name = lower(path.filename().string());
  for (const char* ext : {".png", ".jpg", ".jpeg"}) {
    if (name.ends_with(ext)) return FileKind::image;
  }
  for (const char* ext : {".bmp", ".gif"}) {
    if (name.ends_with(ext)) return FileKind::unsupported_image;
  }
  return FileKind::other;
}

// The image files under `folder` as os.walk lists them, sorted by folder path then file name, as Keras's
// iter_valid_files. Symlinked folders are walked only with follow_links.
std::vector<fs::path> images_under(const fs::path& folder, bool follow_links) {
  std::vector<std::pair<std::string, std::string>> found;  // (folder, file name)
  std::error_code ec;
  auto options = follow_links ? fs::directory_options::follow_directory_symlink : fs::directory_options::none;
  fs::recursive_directory_iterator it(folder, options, ec), end;
  if (ec) throw IOError(fmt::format("{}: cannot list '{}': {}", kOp, folder.string(), ec.message()));
  for (; it != end; it.increment(ec)) {
    if (ec) throw IOError(fmt::format("{}: cannot list '{}': {}", kOp, folder.string(), ec.message()));
    std::error_code type_ec;
    if (it->is_directory(type_ec)) continue;
    const FileKind kind = kind_of(it->path());
    if (kind == FileKind::unsupported_image)
      throw IOError(fmt::format("{}: '{}': BMP and GIF images are not supported; keel decodes PNG and JPEG (.png, "
                                ".jpg, .jpeg)", kOp, it->path().string()));
    if (kind == FileKind::image) found.emplace_back(it->path().parent_path().string(), it->path().filename().string());
  }
  std::sort(found.begin(), found.end());
  std::vector<fs::path> out;
  for (const auto& [dir, name] : found) out.push_back(fs::path(dir) / name);
  return out;
}

std::vector<std::string> class_folders(const fs::path& directory) {
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(directory, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code type_ec;
    const std::string name = it->path().filename().string();
    if (it->is_directory(type_ec) && !name.starts_with(".")) names.push_back(name);
  }
  if (ec) throw IOError(fmt::format("{}: cannot list '{}': {}", kOp, directory.string(), ec.message()));
  std::sort(names.begin(), names.end());
  return names;
}

void check_options(const fs::path& directory, const ImageDirectoryOptions& o) {
  auto bad = [&](const std::string& problem) { throw ValueError(fmt::format("{}: '{}': {}", kOp, directory.string(), problem)); };
  if (o.labels != "inferred" && !o.labels.empty())
    bad(fmt::format("labels must be \"inferred\" or \"\" (no labels), got \"{}\"", o.labels));
  if (o.label_mode != "int" && o.label_mode != "categorical" && o.label_mode != "binary" && !o.label_mode.empty())
    bad(fmt::format("label_mode must be \"int\", \"categorical\", \"binary\" or \"\", got \"{}\"", o.label_mode));
  if (o.labels.empty() && !o.class_names.empty()) bad("class_names needs labels = \"inferred\"");
  if (o.color_mode != "grayscale" && o.color_mode != "rgb" && o.color_mode != "rgba")
    bad(fmt::format("color_mode must be \"grayscale\", \"rgb\" or \"rgba\", got \"{}\"", o.color_mode));
  if (o.interpolation != "bilinear" && o.interpolation != "nearest")
    bad(fmt::format("interpolation must be \"bilinear\" or \"nearest\", got \"{}\"", o.interpolation));
  if (o.image_size[0] < 1 || o.image_size[1] < 1)
    bad(fmt::format("image_size must be two positive sizes, got [{}, {}]", o.image_size[0], o.image_size[1]));
  if (o.batch_size && *o.batch_size < 1) bad(fmt::format("batch_size must be >= 1, got {}", *o.batch_size));
  // Keras's check_validation_split_arg.
  if (o.validation_split != 0.0 && !(o.validation_split > 0.0 && o.validation_split < 1.0))
    bad(fmt::format("validation_split must be between 0 and 1, got {}", o.validation_split));
  if ((o.validation_split != 0.0) != !o.subset.empty())
    bad("if subset is set, validation_split must be set, and inversely");
  if (!o.subset.empty() && o.subset != "training" && o.subset != "validation" && o.subset != "both")
    bad(fmt::format("subset must be \"training\", \"validation\" or \"both\", got \"{}\"", o.subset));
  if (o.validation_split != 0.0 && o.shuffle && !o.seed)
    bad("with validation_split and shuffle, a seed is required so that training and validation files do not overlap");
  if (o.seed && *o.seed > 0xFFFFFFFFull) bad(fmt::format("seed must be below 2^32, got {}", *o.seed));
}

struct IndexedFiles {
  std::vector<fs::path> paths;
  std::vector<std::int64_t> labels;
  std::vector<std::string> class_names;
};

// Keras's index_directory.
IndexedFiles index_directory(const fs::path& directory, const ImageDirectoryOptions& o, std::uint64_t seed) {
  IndexedFiles out;
  std::vector<std::string> folders{""};
  if (!o.labels.empty()) {
    folders = class_folders(directory);
    if (!o.class_names.empty()) {
      for (const std::string& name : o.class_names) {
        if (std::find(folders.begin(), folders.end(), name) == folders.end())
          throw ValueError(fmt::format("{}: '{}': class_names [{}] do not match the subfolders [{}] (or a subset of them)",
                                       kOp, directory.string(), fmt::join(o.class_names, ", "), fmt::join(folders, ", ")));
      }
      folders = o.class_names;
    }
    if (folders.empty())
      throw IOError(fmt::format("{}: '{}' has no class subfolders; with labels = \"inferred\" each class is a folder of "
                                "images", kOp, directory.string()));
    out.class_names = folders;
  }
  for (std::size_t c = 0; c < folders.size(); ++c) {
    const fs::path folder = folders[c].empty() ? directory : directory / folders[c];
    std::vector<fs::path> files = images_under(folder, o.follow_links);
    if (files.empty() && !o.labels.empty())
      throw IOError(fmt::format("{}: class folder '{}' holds no images (.png, .jpg, .jpeg)", kOp, folder.string()));
    for (fs::path& f : files) {
      out.paths.push_back(std::move(f));
      out.labels.push_back(static_cast<std::int64_t>(c));
    }
  }
  if (out.paths.empty())
    throw IOError(fmt::format("{}: no images (.png, .jpg, .jpeg) found in '{}'", kOp, directory.string()));
  if (o.shuffle) {
    const std::vector<std::int64_t> order = detail::numpy_legacy_permutation(static_cast<std::int64_t>(out.paths.size()), seed);
    IndexedFiles shuffled{{}, {}, out.class_names};
    for (std::int64_t i : order) {
      shuffled.paths.push_back(out.paths[static_cast<std::size_t>(i)]);
      shuffled.labels.push_back(out.labels[static_cast<std::size_t>(i)]);
    }
    out = std::move(shuffled);
  }
  return out;
}

std::vector<std::byte> read_file(const fs::path& path) {
  std::error_code ec;
  const std::uint64_t size = fs::file_size(path, ec);
  if (ec) throw IOError(fmt::format("{}: cannot read '{}': {}", kOp, path.string(), ec.message()));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IOError(fmt::format("{}: cannot open '{}': {}", kOp, path.string(), std::strerror(errno)));
  std::vector<std::byte> bytes(static_cast<std::size_t>(size));
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size));
  if (in.gcount() != static_cast<std::streamsize>(size))
    throw IOError(fmt::format("{}: cannot read '{}' (the file shrank while it was read)", kOp, path.string()));
  return bytes;
}

Tensor label_tensor(std::int64_t label, const std::string& mode, std::int64_t classes) {
  if (mode == "int") return Tensor::scalar(static_cast<double>(label), DType::int64);
  if (mode == "binary") return Tensor::full({1}, static_cast<double>(label));
  Tensor one_hot = Tensor::zeros({classes});
  one_hot.data<float>()[label] = 1.0f;
  return one_hot;
}

ImageDataset make_dataset(const IndexedFiles& files, std::size_t begin, std::size_t end, bool shuffle_each_epoch,
                          std::uint64_t seed, const ImageDirectoryOptions& o) {
  auto paths = std::make_shared<std::vector<fs::path>>(files.paths.begin() + static_cast<std::ptrdiff_t>(begin),
                                                       files.paths.begin() + static_cast<std::ptrdiff_t>(end));
  std::vector<double> labels(files.labels.begin() + static_cast<std::ptrdiff_t>(begin),
                             files.labels.begin() + static_cast<std::ptrdiff_t>(end));
  const auto n = static_cast<std::int64_t>(paths->size());
  Dataset ds = Dataset::from_tensor_slices({Tensor::arange(0, static_cast<double>(n), 1, DType::int64),
                                            Tensor::from_vector(labels, {n}, DType::int64)});
  // Keras's buffer: 8 batches, or 1024 images when unbatched.
  if (shuffle_each_epoch) ds = ds.shuffle(o.batch_size ? *o.batch_size * 8 : 1024, seed);
  const int channels = o.color_mode == "grayscale" ? 1 : o.color_mode == "rgb" ? 3 : 4;
  const std::string& label_mode = o.label_mode;
  const auto classes = static_cast<std::int64_t>(files.class_names.size());
  const std::int64_t height = o.image_size[0], width = o.image_size[1];  // not a structured binding: clang 14 cannot capture those
  ds = ds.map([paths, channels, label_mode, classes, height, width, crop = o.crop_to_aspect_ratio,
               interpolation = o.interpolation](Element e) {
    const fs::path& path = (*paths)[static_cast<std::size_t>(e[0].item())];
    const std::string source = fmt::format("{}: '{}'", kOp, path.string());
    const detail::DecodedImage image = detail::decode_image(read_file(path), channels, source);
    const detail::CropBox box = crop ? detail::aspect_ratio_crop(image, height, width) : detail::full_image(image);
    Element out{detail::resize_image(image, box, height, width, interpolation)};
    if (!label_mode.empty()) out.push_back(label_tensor(static_cast<std::int64_t>(e[1].item()), label_mode, classes));
    return out;
  });
  if (o.batch_size) ds = ds.batch(*o.batch_size);
  return ImageDataset(ds.prefetch(2), files.class_names, std::vector<fs::path>(paths->begin(), paths->end()));
}

}  // namespace

ImageDatasets::operator ImageDataset() const {
  if (datasets_.size() != 1)
    throw UsageError("image_dataset_from_directory: subset \"both\" returns two datasets; take them apart with "
                     "`auto [train, val] = image_dataset_from_directory(...)`");
  return datasets_.front();
}

const ImageDataset& ImageDatasets::both(std::size_t index) const {
  if (datasets_.size() != 2)
    throw UsageError("image_dataset_from_directory: only subset \"both\" returns a (training, validation) pair");
  return datasets_[index];
}

ImageDatasets image_dataset_from_directory(const fs::path& directory, const ImageDirectoryOptions& requested) {
  // As Keras: no label mode means no labels, and then the files are listed from the folder down.
  ImageDirectoryOptions options = requested;
  if (options.label_mode.empty()) options.labels.clear();
  if (options.labels.empty()) options.label_mode.clear();
  check_options(directory, options);
  std::error_code ec;
  if (!fs::is_directory(directory, ec))
    throw IOError(fmt::format("{}: '{}' is not a folder{}", kOp, directory.string(), fs::exists(directory, ec) ? "" : " (it does not exist)"));
  // Without a seed, one is drawn from keel's global stream, as Keras draws np.random.randint(1e6).
  const std::uint64_t seed = options.seed ? *options.seed : options.shuffle ? random::next_seed() % kKerasMaxRandomSeed : 0;
  const IndexedFiles files = index_directory(directory, options, seed);
  if (options.label_mode == "binary" && files.class_names.size() != 2)
    throw ValueError(fmt::format("{}: '{}': label_mode \"binary\" needs exactly 2 classes, found [{}]", kOp,
                                 directory.string(), fmt::join(files.class_names, ", ")));

  const std::size_t n = files.paths.size();
  if (options.verbose) {
    if (options.labels.empty()) std::cout << fmt::format("Found {} files.\n", n);
    else std::cout << fmt::format("Found {} files belonging to {} classes.\n", n, files.class_names.size());
  }
  if (options.subset.empty()) return ImageDatasets({make_dataset(files, 0, n, options.shuffle, seed, options)});
  // Keras's get_training_or_validation_split: the last int(validation_split * n) files validate.
  const auto validation = static_cast<std::size_t>(options.validation_split * static_cast<double>(n));
  if (validation == 0 || validation == n)
    throw ValueError(fmt::format("{}: '{}': validation_split {} of {} images leaves {} images for training and {} for "
                                 "validation; both need at least one",
                                 kOp, directory.string(), options.validation_split, n, n - validation, validation));
  if (options.verbose && options.subset != "validation") std::cout << fmt::format("Using {} files for training.\n", n - validation);
  if (options.verbose && options.subset != "training") std::cout << fmt::format("Using {} files for validation.\n", validation);
  if (options.subset == "training") return ImageDatasets({make_dataset(files, 0, n - validation, options.shuffle, seed, options)});
  // As in Keras, a validation set asked for alone is shuffled each epoch like any dataset; the one of
  // subset "both" is not.
  if (options.subset == "validation") return ImageDatasets({make_dataset(files, n - validation, n, options.shuffle, seed, options)});
  return ImageDatasets({make_dataset(files, 0, n - validation, options.shuffle, seed, options),
                        make_dataset(files, n - validation, n, false, seed, options)});
}

}  // namespace keel::data
