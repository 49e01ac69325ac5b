#include "keel/data/csv.h"

#include <catch2/catch.hpp>

#include "data/npy_files.h"
#include "keel/core/error.h"
#include "support/temp_dir.h"
#include "support/throws.h"

using Catch::Matchers::Contains;
using keel::DType;
using keel::data::load_csv;

TEST_CASE("load_csv splits a headed CSV into features and int64 labels", "[data][csv]") {
  keel::test::TempDir dir("csv");
  keel::test::write_file(dir / "d.csv", "a,b,label\n1,2,0\n3.5,-4e1,2\n");
  const auto data = load_csv(dir / "d.csv", {.label_columns = {"label"}, .label_dtype = DType::int64});
  CHECK(data.feature_names == std::vector<std::string>{"a", "b"});
  CHECK(data.label_names == std::vector<std::string>{"label"});
  CHECK(data.features.dtype() == DType::float32);
  CHECK(data.features.shape() == keel::Shape{2, 2});
  CHECK(data.features.to_vector() == std::vector<double>{1, 2, 3.5, -40});
  CHECK(data.labels.dtype() == DType::int64);
  CHECK(data.labels.shape() == keel::Shape{2});
  CHECK(data.labels.to_vector() == std::vector<double>{0, 2});
}

TEST_CASE("load_csv reads quotes, CRLF, a byte-order mark, blank lines and selected columns", "[data][csv]") {
  keel::test::TempDir dir("csv_forms");
  keel::test::write_file(dir / "d.csv",
                         "\xEF\xBB\xBF\"x, the first\";y;\"t\"\"1\";t2\r\n"
                         " 1 ; \"2\" ;3;4\r\n"
                         "\r\n"
                         "5;6;7;8\n\n");
  const auto data = load_csv(dir / "d.csv", {.label_columns = {"t2", "t\"1"},
                                             .select_columns = {"y", "x, the first"},
                                             .field_delim = ';',
                                             .feature_dtype = DType::float64});
  CHECK(data.feature_names == std::vector<std::string>{"y", "x, the first"});
  CHECK(data.features.dtype() == DType::float64);
  CHECK(data.features.to_vector() == std::vector<double>{2, 1, 6, 5});
  CHECK(data.labels.shape() == keel::Shape{2, 2});
  CHECK(data.labels.to_vector() == std::vector<double>{4, 3, 8, 7});

  const auto no_labels = load_csv(dir / "d.csv", {.field_delim = ';'});
  CHECK_FALSE(no_labels.labels.defined());
  CHECK(no_labels.features.shape() == keel::Shape{2, 4});

  keel::test::write_file(dir / "header_only.csv", "a,label\n");
  const auto empty = load_csv(dir / "header_only.csv", {.label_columns = {"label"}});
  CHECK(empty.features.shape() == keel::Shape{0, 1});
  CHECK(empty.labels.shape() == keel::Shape{0});
}

TEST_CASE("load_csv names the file, row, line, column and text of a bad value", "[data][csv]") {
  keel::test::TempDir dir("csv_bad");
  const auto path = dir / "bad.csv";
  keel::test::write_file(path, "a,label\n1,0\n2,cat\n");
  KEEL_CHECK_THROWS(load_csv(path, {.label_columns = {"label"}}), keel::ValueError,
                    Contains(path.string()) && Contains("row 2 (line 3)") && Contains("column 'label'") &&
                        Contains("'cat' is not a number"));
  keel::test::write_file(path, "a,label\n1,0\n2,1.5\n");
  KEEL_CHECK_THROWS(load_csv(path, {.label_columns = {"label"}, .label_dtype = DType::int64}), keel::ValueError,
                    Contains("row 2 (line 3)") && Contains("'1.5' is not an integer"));
  keel::test::write_file(path, "a,label\n,0\n");
  KEEL_CHECK_THROWS(load_csv(path, {.label_columns = {"label"}}), keel::ValueError,
                    Contains("row 1 (line 2), column 'a': '' is not a number"));
  KEEL_CHECK_THROWS(load_csv(path, {.label_columns = {"y"}}), keel::ValueError,
                    Contains(path.string()) && Contains("label_columns names column 'y'") && Contains("[a, label]"));
  KEEL_CHECK_THROWS(load_csv(path, {.label_columns = {"a"}, .select_columns = {"a"}}), keel::ValueError,
                    Contains("both a feature"));
}

TEST_CASE("load_csv refuses malformed files with an IOError naming the file", "[data][csv]") {
  keel::test::TempDir dir("csv_malformed");
  const auto path = dir / "m.csv";
  const auto check = [&](const std::string& text, const std::string& fragment) {
    INFO(fragment);
    keel::test::write_file(path, text);
    KEEL_CHECK_THROWS(load_csv(path), keel::IOError, Contains(path.string()) && Contains(fragment));
  };
  check("", "a header row is required");
  check("a,b\n1,2\n3\n", "row 2 (line 3) has 1 fields, the header has 2");
  check("a,b\n1,\"2\n", "the quoted field opened on line 2 is never closed");
  check("a,b\n1,\"2\"x\n", "line 2: text after the closing quote");
  check("a,,c\n1,2,3\n", "header column 2 has no name");
  keel::test::write_file(path, "a,a\n1,2\n");
  KEEL_CHECK_THROWS(load_csv(path), keel::ValueError, Contains("the header names column 'a' twice"));
  KEEL_CHECK_THROWS(load_csv(dir / "none.csv"), keel::IOError, Contains("none.csv") && Contains("no such file"));
}
