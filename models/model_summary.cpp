// Model::summary(): Keras 3's table.
#include <fmt/format.h>

#include <iostream>
#include <vector>

#include "keel/models/model.h"

namespace keel {
namespace {

// Keras 3's column widths (text only; each cell adds one space of padding on both sides).
constexpr int kNameWidth = 31, kShapeWidth = 22, kParamsWidth = 13;

std::string repeat(const char* glyph, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += glyph;
  return s;
}

std::string with_commas(std::int64_t n) {
  std::string digits = std::to_string(n), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// Keras's readable_memory_size: powers of 1024.
std::string memory_size(std::int64_t bytes) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  return fmt::format("{:.2f} {}", v, units[u]);
}

std::string shape_with_none(const Shape& s) {
  std::string out = "(None";
  for (std::size_t i = 1; i < s.size(); ++i) out += fmt::format(", {}", s[i]);
  return out + (s.size() == 2 ? ")" : ")");
}

std::string cell(const std::string& text, int width, bool right) {
  // Widths are in display columns; the text here is ASCII.
  std::string t = text.size() > static_cast<std::size_t>(width) ? text.substr(0, width - 1) + "…" : text;
  int pad = width - static_cast<int>(text.size() > static_cast<std::size_t>(width) ? width : text.size());
  return right ? std::string(pad, ' ') + t : t + std::string(pad, ' ');
}

std::int64_t bytes_of(const std::vector<Variable>& vars) {
  std::int64_t b = 0;
  for (const auto& v : vars) b += v.value().numel() * static_cast<std::int64_t>(dtype_size(v.dtype()));
  return b;
}

std::int64_t count_of(const std::vector<Variable>& vars) {
  std::int64_t n = 0;
  for (const auto& v : vars) n += v.value().numel();
  return n;
}

}  // namespace

void Model::summary() const { summary(std::cout); }

void Model::summary(std::ostream& out) const {
  const_cast<Model*>(this)->build_from_declared_input();
  out << fmt::format("Model: \"{}\"\n", name());
  auto border = [&](const char* left, const char* mid, const char* right, const char* fill) {
    out << left << repeat(fill, kNameWidth + 2) << mid << repeat(fill, kShapeWidth + 2) << mid
        << repeat(fill, kParamsWidth + 2) << right << '\n';
  };
  border("┏", "┳", "┓", "━");
  out << "┃ " << cell("Layer (type)", kNameWidth, false) << " ┃ " << cell("Output Shape", kShapeWidth, false) << " ┃ "
      << cell("Param #", kParamsWidth, true) << " ┃\n";
  border("┡", "╇", "┩", "━");
  std::vector<layers::LayerPtr> rows;
  for (const auto& layer : sublayers())
    if (!layer->declared_input_shape()) rows.push_back(layer);  // Keras lists no Input row
  Shape shape = built() ? built_input_shape() : Shape{};
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto& layer = rows[i];
    std::string shape_text = "?";
    if (built()) {
      shape = layer->compute_output_shape(shape);
      shape_text = shape_with_none(shape);
    }
    std::string params = layer->built() || !layer->weights().empty() ? with_commas(layer->count_params()) : "0";
    if (!built() && !layer->built()) params = "0 (unbuilt)";
    out << "│ " << cell(fmt::format("{} ({})", layer->name(), layer->class_name()), kNameWidth, false) << " │ "
        << cell(shape_text, kShapeWidth, false) << " │ " << cell(params, kParamsWidth, true) << " │\n";
    if (i + 1 < rows.size()) border("├", "┼", "┤", "─");
  }
  border("└", "┴", "┘", "─");
  auto all = weights(), trainable = trainable_weights(), frozen = non_trainable_weights();
  out << fmt::format(" Total params: {} ({})\n", with_commas(count_of(all)), memory_size(bytes_of(all)));
  out << fmt::format(" Trainable params: {} ({})\n", with_commas(count_of(trainable)), memory_size(bytes_of(trainable)));
  out << fmt::format(" Non-trainable params: {} ({})\n", with_commas(count_of(frozen)), memory_size(bytes_of(frozen)));
}

}  // namespace keel
