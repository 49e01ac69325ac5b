#include "keel/data/csv.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <system_error>

#include "keel/core/error.h"

namespace keel::data {
namespace {

namespace fs = std::filesystem;

struct Record {
  std::vector<std::string> fields;
  std::int64_t line = 0;  // where the record starts, 1-based
};

// Splits CSV text into records (RFC 4180). Blank lines are skipped.
class CsvReader {
 public:
  CsvReader(std::string_view text, char delim, std::string source) : text_(text), delim_(delim), source_(std::move(source)) {
    if (text_.starts_with("\xEF\xBB\xBF")) pos_ = 3;
  }

  bool next(Record& record) {
    record.fields.clear();
    while (pos_ < text_.size() && (text_[pos_] == '\n' || text_.compare(pos_, 2, "\r\n") == 0)) {
      pos_ += text_[pos_] == '\n' ? 1 : 2;
      ++line_;
    }
    if (pos_ >= text_.size()) return false;
    record.line = line_;
    for (;;) {
      record.fields.push_back(next_field());
      if (pos_ >= text_.size()) return true;
      if (text_[pos_] == delim_) {
        ++pos_;
        continue;
      }
      pos_ += text_[pos_] == '\n' ? 1 : 2;  // next_field stops only at the delimiter, "\n" or "\r\n"
      ++line_;
      return true;
    }
  }

 private:
  bool at_field_end() const {
    return pos_ >= text_.size() || text_[pos_] == delim_ || text_[pos_] == '\n' || text_.compare(pos_, 2, "\r\n") == 0;
  }

  std::string next_field() {
    std::string field;
    while (pos_ < text_.size() && text_[pos_] == ' ') ++pos_;
    if (pos_ < text_.size() && text_[pos_] == '"') {
      const std::int64_t start_line = line_;
      ++pos_;
      for (;;) {
        if (pos_ >= text_.size())
          throw IOError(fmt::format("{}: the quoted field opened on line {} is never closed", source_, start_line));
        const char c = text_[pos_++];
        if (c == '"') {
          if (pos_ < text_.size() && text_[pos_] == '"') {
            field.push_back('"');
            ++pos_;
            continue;
          }
          break;
        }
        if (c == '\n') ++line_;
        field.push_back(c);
      }
      while (pos_ < text_.size() && text_[pos_] == ' ') ++pos_;
      if (!at_field_end())
        throw IOError(fmt::format("{}: line {}: text after the closing quote of a quoted field", source_, line_));
      return field;
    }
    while (!at_field_end()) field.push_back(text_[pos_++]);
    while (!field.empty() && (field.back() == ' ' || field.back() == '\r')) field.pop_back();
    return field;
  }

  std::string_view text_;
  char delim_;
  std::string source_;
  std::size_t pos_ = 0;
  std::int64_t line_ = 1;
};

std::string read_text(const fs::path& path, const std::string& source) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec))
    throw IOError(fmt::format("{}: {}", source, fs::exists(path, ec) ? "not a regular file" : "no such file"));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IOError(fmt::format("{}: cannot open: {}", source, std::strerror(errno)));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw IOError(fmt::format("{}: read error", source));
  return text;
}

// Positions of `names` in the header; ValueError naming the option and the header for an unknown or
// repeated name.
std::vector<std::size_t> column_indices(const std::vector<std::string>& names, const std::vector<std::string>& header,
                                        const char* option, const std::string& source) {
  std::vector<std::size_t> out;
  for (const std::string& name : names) {
    auto it = std::find(header.begin(), header.end(), name);
    if (it == header.end())
      throw ValueError(fmt::format("{}: {} names column '{}', which the header does not have; its columns are [{}]",
                                   source, option, name, fmt::join(header, ", ")));
    const auto index = static_cast<std::size_t>(it - header.begin());
    if (std::find(out.begin(), out.end(), index) != out.end())
      throw ValueError(fmt::format("{}: {} names column '{}' twice", source, option, name));
    out.push_back(index);
  }
  return out;
}

double parse_number(const std::string& text, DType dtype, const std::string& source, std::int64_t row,
                    std::int64_t line, const std::string& column) {
  double value = 0;
  auto [end, err] = std::from_chars(text.data(), text.data() + text.size(), value);
  const bool number = !text.empty() && err == std::errc() && end == text.data() + text.size();
  if (!number || (dtype == DType::int64 && (value != std::trunc(value) || std::abs(value) >= 9.2233720368547758e18))) {
    throw ValueError(fmt::format("{}: row {} (line {}), column '{}': '{}' is not {}", source, row, line, column, text,
                                 dtype == DType::int64 ? "an integer (the labels are int64)" : "a number"));
  }
  return value;
}

Tensor gather_columns(const std::vector<Record>& rows, const std::vector<std::size_t>& columns, DType dtype,
                      const std::vector<std::string>& header, const std::string& source, bool as_vector) {
  std::vector<double> values;
  values.reserve(rows.size() * columns.size());
  for (std::size_t r = 0; r < rows.size(); ++r) {
    for (std::size_t c : columns) {
      values.push_back(parse_number(rows[r].fields[c], dtype, source, static_cast<std::int64_t>(r) + 1, rows[r].line, header[c]));
    }
  }
  const auto n = static_cast<std::int64_t>(rows.size());
  const Shape shape = as_vector ? Shape{n} : Shape{n, static_cast<std::int64_t>(columns.size())};
  return Tensor::from_vector(values, shape, dtype);
}

}  // namespace

CsvData load_csv(const fs::path& path, const CsvOptions& options) {
  const std::string source = fmt::format("load_csv: '{}'", path.string());
  return parse_csv(read_text(path, source), options, source);
}

CsvData parse_csv(std::string_view text, const CsvOptions& options, std::string_view source_name) {
  const std::string source(source_name);
  for (DType dtype : {options.feature_dtype, options.label_dtype}) {
    if (dtype == DType::boolean) throw ValueError(fmt::format("{}: bool is not a CSV column dtype", source));
  }
  if (options.field_delim == '"' || options.field_delim == '\n' || options.field_delim == '\r')
    throw ValueError(fmt::format("{}: field_delim cannot be a quote or a line break", source));
  CsvReader reader(text, options.field_delim, source);
  Record header;
  if (!reader.next(header)) throw IOError(fmt::format("{}: the file is empty; a header row is required", source));
  for (std::size_t i = 0; i < header.fields.size(); ++i) {
    if (header.fields[i].empty())
      throw IOError(fmt::format("{}: header column {} has no name (a header row is required)", source, i + 1));
    if (std::find(header.fields.begin(), header.fields.begin() + static_cast<std::ptrdiff_t>(i), header.fields[i]) !=
        header.fields.begin() + static_cast<std::ptrdiff_t>(i))
      throw ValueError(fmt::format("{}: the header names column '{}' twice", source, header.fields[i]));
  }

  const std::vector<std::size_t> label_columns = column_indices(options.label_columns, header.fields, "label_columns", source);
  std::vector<std::size_t> feature_columns = column_indices(options.select_columns, header.fields, "select_columns", source);
  for (std::size_t i : feature_columns) {
    if (std::find(label_columns.begin(), label_columns.end(), i) != label_columns.end())
      throw ValueError(fmt::format("{}: column '{}' is both a feature (select_columns) and a label", source, header.fields[i]));
  }
  if (options.select_columns.empty()) {
    for (std::size_t i = 0; i < header.fields.size(); ++i) {
      if (std::find(label_columns.begin(), label_columns.end(), i) == label_columns.end()) feature_columns.push_back(i);
    }
  }

  std::vector<Record> rows;
  for (Record row; reader.next(row);) {
    if (row.fields.size() != header.fields.size())
      throw IOError(fmt::format("{}: row {} (line {}) has {} fields, the header has {}", source, rows.size() + 1, row.line,
                                row.fields.size(), header.fields.size()));
    rows.push_back(std::move(row));
  }

  CsvData out;
  for (std::size_t i : feature_columns) out.feature_names.push_back(header.fields[i]);
  for (std::size_t i : label_columns) out.label_names.push_back(header.fields[i]);
  out.features = gather_columns(rows, feature_columns, options.feature_dtype, header.fields, source, false);
  if (!label_columns.empty())
    out.labels = gather_columns(rows, label_columns, options.label_dtype, header.fields, source, label_columns.size() == 1);
  return out;
}

}  // namespace keel::data
