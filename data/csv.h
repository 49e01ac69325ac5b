#pragma once
// Numeric CSV files with a header row, read into a features tensor and a labels tensor.
//
// The format is RFC 4180's: fields separated by `field_delim`, a field may be quoted with '"' (and then
// hold the delimiter, newlines and '""' for a quote), lines end in "\n" or "\r\n". Spaces around a value
// are ignored, blank lines are skipped and a UTF-8 byte-order mark is ignored. Every value must be a
// number (as std::from_chars reads it: "1", "-2.5e3", "nan", "inf"); there is no missing-value marker.
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "keel/core/tensor.h"

namespace keel::data {

struct CsvOptions {
  // The columns that form the labels, by header name. Empty: no labels (CsvData::labels is undefined).
  std::vector<std::string> label_columns = {};
  // The feature columns, in this order. Empty: every column that is not a label, in the file's order.
  std::vector<std::string> select_columns = {};
  char field_delim = ',';
  DType feature_dtype = DType::float32;
  // int64 for class indices (sparse_categorical_crossentropy); a value that is not an integer is then a
  // ValueError.
  DType label_dtype = DType::float32;
};

struct CsvData {
  Tensor features;  // [rows, features]
  Tensor labels;    // [rows] for one label column, [rows, labels] for several; undefined without labels
  std::vector<std::string> feature_names;
  std::vector<std::string> label_names;
};

// Reads `path`. IOError naming the file for a missing or unreadable file, a missing header, a row with
// the wrong number of fields or an unterminated quote (with its line). ValueError naming the file, row,
// line, column and the text for a value that is not a number (or not an integer for int64), naming the
// file and the header's columns for an unknown, repeated or duplicate column, and for a boolean dtype.
CsvData load_csv(const std::filesystem::path& path, const CsvOptions& options = {});

// CSV text already in memory, parsed exactly as load_csv parses a file's contents, with the same errors;
// `source` starts each message (load_csv passes "load_csv: '<path>'").
CsvData parse_csv(std::string_view text, const CsvOptions& options, std::string_view source);

}  // namespace keel::data
