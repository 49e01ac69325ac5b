// libFuzzer target for parse_csv, the parser behind load_csv. Each input is parsed with the default
// options (every column a float32 feature) and, when that succeeds, again with its last column as int64
// labels. Allowed outcomes: success, keel::IOError (malformed text) or keel::ValueError (a value that is
// not a number or not an integer, a repeated column name). What parses must have the promised shapes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "keel/core/error.h"
#include "keel/data/csv.h"

namespace {

void check_shapes(const keel::data::CsvData& parsed) {
  const std::int64_t rows = parsed.features.size(0);
  if (parsed.features.dim() != 2 || parsed.features.size(1) != static_cast<std::int64_t>(parsed.feature_names.size()))
    std::abort();
  if (parsed.labels.defined() && (parsed.labels.dim() != 1 || parsed.labels.size(0) != rows)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const keel::data::CsvData all = keel::data::parse_csv(text, {}, "fuzz csv");
    check_shapes(all);
    if (all.feature_names.empty()) return 0;
    check_shapes(keel::data::parse_csv(
        text, {.label_columns = {all.feature_names.back()}, .label_dtype = keel::DType::int64}, "fuzz csv"));
  } catch (const keel::IOError&) {
  } catch (const keel::ValueError&) {
  }
  return 0;
}
