#include "keel/data/image_dataset.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <iostream>
#include <sstream>

#include "data/image_files.h"
#include "keel/core/error.h"
#include "support/temp_dir.h"
#include "support/throws.h"

using Catch::Matchers::Contains;
using keel::DType;
using namespace keel::data;  // the function under test, its options and results
using namespace keel::test;  // image writers, TempDir
namespace fs = std::filesystem;

namespace {

// A 1x1 gray PNG of value v.
std::string gray_pixel(std::uint8_t v) { return png_bytes(1, 1, 0, {v}); }

std::vector<Element> elements_of(const Dataset& ds) {
  std::vector<Element> out;
  for (const Element& e : ds) out.push_back(e);
  return out;
}

std::vector<std::string> relative(const std::vector<fs::path>& paths, const fs::path& root) {
  std::vector<std::string> out;
  for (const fs::path& p : paths) out.push_back(fs::relative(p, root).string());
  return out;
}

ImageDirectoryOptions unshuffled_single(ImageDirectoryOptions o = {}) {
  o.shuffle = false;
  o.batch_size = std::nullopt;
  o.image_size = {1, 1};
  o.verbose = false;
  return o;
}

}  // namespace

TEST_CASE("image_dataset_from_directory lists class folders and files as Keras does", "[data][image]") {
  TempDir dir("images");
  const fs::path root = dir.path();
  write_file_bytes(root / "cats" / "b.png", gray_pixel(20));
  write_file_bytes(root / "cats" / "A.PNG", gray_pixel(10));  // extensions in any case
  write_file_bytes(root / "cats" / "sub" / "c.png", gray_pixel(30));
  write_file_bytes(root / "cats" / "notes.txt", "not an image");
  write_file_bytes(root / "dogs" / "x.jpeg", solid_jpeg_bytes(8, 8, 1, {200}));
  write_file_bytes(root / ".hidden" / "h.png", gray_pixel(1));
  write_file_bytes(root / "top.png", gray_pixel(2));  // not in a class folder: ignored
  ImageDirectoryOptions o = unshuffled_single();
  o.color_mode = "grayscale";
  const ImageDataset ds = image_dataset_from_directory(root, o);
  CHECK(ds.class_names == std::vector<std::string>{"cats", "dogs"});
  // Sorted by folder, then name ("A.PNG" < "b.png" bytewise, as Python sorts).
  CHECK(relative(ds.file_paths, root) == std::vector<std::string>{"cats/A.PNG", "cats/b.png", "cats/sub/c.png", "dogs/x.jpeg"});
  const std::vector<Element> elements = elements_of(ds);
  REQUIRE(elements.size() == 4);
  CHECK(elements[0][0].shape() == keel::Shape{1, 1, 1});
  CHECK(elements[0][0].dtype() == DType::float32);
  CHECK(elements[0][0].item() == 10);
  CHECK(elements[1][0].item() == 20);
  CHECK(elements[2][0].item() == 30);
  CHECK(std::abs(elements[3][0].item() - 200) <= 2);  // JPEG: lossy, a solid color survives closely
  CHECK(elements[0][1].dtype() == DType::int64);
  CHECK(elements[2][1].item() == 0);
  CHECK(elements[3][1].item() == 1);

  o.class_names = {"dogs", "cats"};  // a chosen order
  const ImageDataset reordered = image_dataset_from_directory(root, o);
  CHECK(relative(reordered.file_paths, root).front() == "dogs/x.jpeg");
  CHECK(elements_of(reordered)[0][1].item() == 0);

  o.class_names = {};
  o.labels = "";  // no labels: every image under the folder, images only
  const ImageDataset unlabeled = image_dataset_from_directory(root, o);
  CHECK(relative(unlabeled.file_paths, root) ==
        std::vector<std::string>{"top.png", ".hidden/h.png", "cats/A.PNG", "cats/b.png", "cats/sub/c.png", "dogs/x.jpeg"});
  CHECK(elements_of(unlabeled)[0].size() == 1);
}

TEST_CASE("image_dataset_from_directory shuffles and splits files exactly as Keras", "[data][image]") {
  TempDir dir("images_split");
  const fs::path root = dir.path();
  std::vector<std::string> sorted;
  for (int i = 0; i < 10; ++i) {
    const std::string name = std::string(i < 5 ? "a/" : "b/") + std::to_string(i) + ".png";
    write_file_bytes(root / name, gray_pixel(static_cast<std::uint8_t>(i)));
    sorted.push_back(name);
  }
  // Keras: np.random.RandomState(0).shuffle(file_paths) gives the permutation [2, 8, 4, 9, 1, 6, 7, 3, 0, 5],
  // then the last int(0.2 * 10) = 2 files validate.
  const std::vector<int> order = {2, 8, 4, 9, 1, 6, 7, 3, 0, 5};
  std::vector<std::string> expected_train, expected_val;
  for (std::size_t i = 0; i < order.size(); ++i)
    (i < 8 ? expected_train : expected_val).push_back(sorted[static_cast<std::size_t>(order[i])]);
  ImageDirectoryOptions o{.batch_size = 4, .image_size = {1, 1}, .seed = 0, .validation_split = 0.2, .subset = "both"};
  std::ostringstream printed;
  std::streambuf* cout_buffer = std::cout.rdbuf(printed.rdbuf());
  auto [train, val] = image_dataset_from_directory(root, o);
  std::cout.rdbuf(cout_buffer);
  CHECK(printed.str() == "Found 10 files belonging to 2 classes.\nUsing 8 files for training.\nUsing 2 files for validation.\n");
  o.verbose = false;
  CHECK(relative(train.file_paths, root) == expected_train);
  CHECK(relative(val.file_paths, root) == expected_val);
  CHECK(train.cardinality() == 2);
  CHECK(val.cardinality() == 1);
  // The validation batch holds its files in order (no per-epoch shuffle); labels follow the files.
  const Element batch = *val.iterator().next();
  CHECK(batch[0].shape() == keel::Shape{2, 1, 1, 3});
  CHECK(batch[0].to_vector() == std::vector<double>{0, 0, 0, 5, 5, 5});  // files 0.png and 5.png
  CHECK(batch[1].to_vector() == std::vector<double>{0, 1});
  // The training images, reshuffled each epoch, are still exactly the training files.
  std::vector<double> seen;
  for (const Element& b : train) {
    for (std::int64_t i = 0; i < b[0].size(0); ++i) seen.push_back(b[0].at({i, 0, 0, 0}));
  }
  std::sort(seen.begin(), seen.end());
  CHECK(seen == std::vector<double>{1, 2, 3, 4, 6, 7, 8, 9});

  o.subset = "training";
  const ImageDataset training = image_dataset_from_directory(root, o);
  CHECK(relative(training.file_paths, root) == expected_train);
  o.subset = "validation";
  const ImageDataset validation = image_dataset_from_directory(root, o);
  CHECK(relative(validation.file_paths, root) == expected_val);
  o.subset = "both";
  KEEL_CHECK_THROWS(ImageDataset(image_dataset_from_directory(root, o)), keel::UsageError, Contains("auto [train, val]"));
}

TEST_CASE("image_dataset_from_directory label modes", "[data][image]") {
  TempDir dir("images_labels");
  write_file_bytes(dir / "no" / "a.png", gray_pixel(0));
  write_file_bytes(dir / "yes" / "b.png", gray_pixel(0));
  ImageDirectoryOptions o = unshuffled_single();
  o.label_mode = "categorical";
  std::vector<Element> e = elements_of(image_dataset_from_directory(dir.path(), o));
  CHECK(e[1][1].dtype() == DType::float32);
  CHECK(e[1][1].to_vector() == std::vector<double>{0, 1});
  o.label_mode = "binary";
  e = elements_of(image_dataset_from_directory(dir.path(), o));
  CHECK(e[1][1].shape() == keel::Shape{1});
  CHECK(e[1][1].to_vector() == std::vector<double>{1});
  CHECK(e[0][1].to_vector() == std::vector<double>{0});
  o.label_mode = "";  // as Keras: no labels, and the files are listed from the folder down
  write_file_bytes(dir / "top.png", gray_pixel(0));
  const ImageDataset unlabeled = image_dataset_from_directory(dir.path(), o);
  CHECK(unlabeled.file_paths.size() == 3);
  CHECK(unlabeled.class_names.empty());
  CHECK(elements_of(unlabeled)[0].size() == 1);
  fs::remove(dir / "top.png");
  write_file_bytes(dir / "maybe" / "c.png", gray_pixel(0));
  o.label_mode = "binary";
  KEEL_CHECK_THROWS(image_dataset_from_directory(dir.path(), o), keel::ValueError,
                    Contains("exactly 2 classes") && Contains("maybe, no, yes"));
}

TEST_CASE("image_dataset_from_directory decodes PNG color types and JPEG into each color mode", "[data][image]") {
  TempDir dir("images_color");
  const fs::path root = dir.path();
  write_file_bytes(root / "c" / "1_rgb.png", png_bytes(1, 1, 2, {200, 100, 50}));
  write_file_bytes(root / "c" / "2_gray.png", png_bytes(1, 1, 0, {77}));
  write_file_bytes(root / "c" / "3_rgba.png", png_bytes(1, 1, 6, {10, 20, 30, 128}));
  write_file_bytes(root / "c" / "4_palette.png", png_bytes(1, 1, 3, {1}, {0, 0, 0, 9, 99, 199}));
  write_file_bytes(root / "c" / "5_gray_alpha.png", png_bytes(1, 1, 4, {60, 255}));
  write_file_bytes(root / "c" / "6_rgb.jpg", solid_jpeg_bytes(16, 16, 3, {240, 16, 128}));
  ImageDirectoryOptions o = unshuffled_single();
  const auto pixels = [&](const std::string& mode) {
    o.color_mode = mode;
    std::vector<std::vector<double>> out;
    for (const Element& e : ImageDataset(image_dataset_from_directory(root, o))) out.push_back(e[0].to_vector());
    return out;
  };
  const auto rgb = pixels("rgb");
  CHECK(rgb[0] == std::vector<double>{200, 100, 50});
  CHECK(rgb[1] == std::vector<double>{77, 77, 77});
  CHECK(rgb[2] == std::vector<double>{10, 20, 30});  // alpha dropped
  CHECK(rgb[3] == std::vector<double>{9, 99, 199});
  CHECK(rgb[4] == std::vector<double>{60, 60, 60});
  for (std::size_t k = 0; k < 3; ++k) CHECK(std::abs(rgb[5][k] - std::vector<double>{240, 16, 128}[k]) <= 3);
  const auto gray = pixels("grayscale");
  CHECK(gray[0] == std::vector<double>{std::round(0.299 * 200 + 0.587 * 100 + 0.114 * 50)});
  CHECK(gray[1] == std::vector<double>{77});
  CHECK(std::abs(gray[5][0] - (0.299 * 240 + 0.587 * 16 + 0.114 * 128)) <= 3);
  const auto rgba = pixels("rgba");
  CHECK(rgba[0] == std::vector<double>{200, 100, 50, 255});
  CHECK(rgba[2] == std::vector<double>{10, 20, 30, 128});
  CHECK(rgba[4] == std::vector<double>{60, 60, 60, 255});
  CHECK(rgba[5][3] == 255);
}

TEST_CASE("image_dataset_from_directory resizes as tf.image.resize and crops as smart_resize", "[data][image]") {
  TempDir dir("images_resize");
  write_file_bytes(dir / "c" / "row.png", png_bytes(2, 1, 0, {0, 100}));
  ImageDirectoryOptions o = unshuffled_single();
  o.color_mode = "grayscale";
  o.image_size = {1, 4};
  // Half-pixel centers: source x = (x + 0.5) * 2 / 4 - 0.5 = -0.25, 0.25, 0.75, 1.25, clamped at the edges.
  CHECK(elements_of(image_dataset_from_directory(dir.path(), o))[0][0].to_vector() == std::vector<double>{0, 25, 75, 100});
  o.interpolation = "nearest";  // floor((x + 0.5) * 2 / 4) = 0, 0, 1, 1
  CHECK(elements_of(image_dataset_from_directory(dir.path(), o))[0][0].to_vector() == std::vector<double>{0, 0, 100, 100});

  fs::remove(dir / "c" / "row.png");
  write_file_bytes(dir / "c" / "wide.png", png_bytes(4, 2, 0, {10, 20, 30, 40, 50, 60, 70, 80}));
  o.image_size = {2, 2};
  o.interpolation = "bilinear";  // source x = 0.5 and 2.5: the means of columns (0, 1) and (2, 3)
  CHECK(elements_of(image_dataset_from_directory(dir.path(), o))[0][0].to_vector() == std::vector<double>{15, 35, 55, 75});
  o.interpolation = "nearest";  // floor((x + 0.5) * 2) = 1, 3
  CHECK(elements_of(image_dataset_from_directory(dir.path(), o))[0][0].to_vector() == std::vector<double>{20, 40, 60, 80});
  o.crop_to_aspect_ratio = true;  // the centered 2x2 window: columns 1 and 2
  CHECK(elements_of(image_dataset_from_directory(dir.path(), o))[0][0].to_vector() == std::vector<double>{20, 30, 60, 70});
}

TEST_CASE("image_dataset_from_directory names the file or folder of bad data", "[data][image]") {
  TempDir dir("images_bad");
  const fs::path root = dir.path();
  ImageDirectoryOptions o = unshuffled_single();
  KEEL_CHECK_THROWS(image_dataset_from_directory(root / "missing", o), keel::IOError,
                    Contains("missing") && Contains("does not exist"));
  KEEL_CHECK_THROWS(image_dataset_from_directory(root, o), keel::IOError, Contains("no class subfolders"));
  fs::create_directories(root / "empty");
  write_file_bytes(root / "full" / "a.png", gray_pixel(1));
  KEEL_CHECK_THROWS(image_dataset_from_directory(root, o), keel::IOError,
                    Contains((root / "empty").string()) && Contains("holds no images"));
  fs::remove(root / "empty");
  write_file_bytes(root / "full" / "b.gif", "GIF89a");
  KEEL_CHECK_THROWS(image_dataset_from_directory(root, o), keel::IOError,
                    Contains((root / "full" / "b.gif").string()) && Contains("PNG and JPEG"));
  fs::remove(root / "full" / "b.gif");

  const auto check_read_error = [&](const std::string& name, const std::string& bytes, const std::string& fragment) {
    INFO(name);
    write_file_bytes(root / "full" / name, bytes);
    const ImageDataset ds = image_dataset_from_directory(root, o);  // listing succeeds: files are read lazily
    try {
      elements_of(ds);
      FAIL("no exception");
    } catch (const keel::IOError& e) {
      CHECK_THAT(e.what(), Contains((root / "full" / name).string()) && Contains(fragment));
    }
    fs::remove(root / "full" / name);
  };
  std::string png = gray_pixel(1);
  check_read_error("corrupt.png", png.substr(0, 8) + std::string(40, 'x'), "corrupt PNG");
  check_read_error("truncated.png", png.substr(0, png.size() - 20), "corrupt PNG");
  const std::string jpeg = solid_jpeg_bytes(8, 8, 3, {1, 2, 3});
  check_read_error("truncated.jpg", jpeg.substr(0, 30), "corrupt JPEG");
  // Cut inside the scan: libjpeg would fill the rest with gray and only warn.
  check_read_error("cut.jpg", jpeg.substr(0, jpeg.size() - 4), "Premature end of JPEG file");
  // A header claiming 16000x16000 pixels in a file of 70 bytes: refused before allocating 1 GB.
  std::string bomb = png;
  const std::string ihdr = std::string("IHDR") + std::string("\x00\x00\x3e\x80\x00\x00\x3e\x80\x08\x00\x00\x00\x00", 13);
  bomb.replace(12, 17, ihdr);
  const auto crc = crc32(0, reinterpret_cast<const Bytef*>(ihdr.data()), static_cast<uInt>(ihdr.size()));
  for (int i = 0; i < 4; ++i) bomb[29 + static_cast<std::size_t>(i)] = static_cast<char>((crc >> (24 - 8 * i)) & 0xFF);
  check_read_error("bomb.png", bomb, "claims 16000x16000 pixels, more than a");
  check_read_error("text.png", "hello", "not a PNG or JPEG image");
  check_read_error("empty.jpg", "", "the file is empty");
}

TEST_CASE("image_dataset_from_directory checks its options as Keras does", "[data][image]") {
  TempDir dir("images_options");
  write_file_bytes(dir / "a" / "x.png", gray_pixel(1));
  const auto refuses = [&](const ImageDirectoryOptions& o, const std::string& fragment) {
    INFO(fragment);
    KEEL_CHECK_THROWS(image_dataset_from_directory(dir.path(), o), keel::ValueError, Contains(fragment));
  };
  refuses({.validation_split = 0.2, .subset = "training"}, "a seed is required");
  refuses({.validation_split = 0.2}, "if subset is set, validation_split must be set");
  refuses({.subset = "training"}, "if subset is set, validation_split must be set");
  refuses({.seed = 1, .validation_split = 1.5, .subset = "training"}, "between 0 and 1");
  refuses({.seed = 1, .validation_split = 0.2, .subset = "test"}, "subset must be");
  refuses({.seed = 1, .validation_split = 0.2, .subset = "both"}, "leaves 1 images for training and 0 for validation");
  refuses({.label_mode = "sparse"}, "label_mode must be");
  refuses({.class_names = {"b"}}, "class_names [b] do not match the subfolders [a]");
  refuses({.color_mode = "cmyk"}, "color_mode must be");
  refuses({.image_size = {0, 3}}, "image_size");
  refuses({.interpolation = "bicubic"}, "interpolation must be");
  refuses({.seed = 1ull << 32}, "seed must be below 2^32");
}
