// Model::summary(): Keras 3's table.
#include <fmt/format.h>

#include <iostream>
#include <vector>

#include <map>

#include "keel/models/functional.h"
#include "keel/models/model.h"

namespace keel {
namespace {

// Keras 3's column widths (text only; each cell adds one space of padding on both sides).
constexpr int kNameWidth = 31, kShapeWidth = 22, kParamsWidth = 13;
// keel's own widths for the columns Keras adds for graphs and show_trainable.
constexpr int kConnectedWidth = 26, kTrainableWidth = 9;

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

// Keras's form: the batch size and every free size (-1) are None.
std::string shape_with_none(const Shape& s) {
  std::string out = "(None";
  for (std::size_t i = 1; i < s.size(); ++i) out += s[i] == -1 ? std::string(", None") : fmt::format(", {}", s[i]);
  return out + ")";
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

// One row of the table: "name (Class)", output shape, parameters, the calls it is connected to (a
// functional model's), and whether it is trainable. `depth` > 0 for layers of an expanded inner model.
struct Row {
  std::string layer, shape, params, connected;
  bool trainable = true;
  int depth = 0;
};

std::string params_of(const layers::Layer& layer, bool model_built) {
  if (!model_built && !layer.built()) return "0 (unbuilt)";
  return layer.built() || !layer.weights().empty() ? with_commas(layer.count_params()) : "0";
}

void add_rows(const Model& model, const SummaryOptions& options, int depth, std::vector<Row>& rows);

// A model's inner rows, when expand_nested asks for them.
void add_nested(const layers::Layer& layer, const SummaryOptions& options, int depth, std::vector<Row>& rows) {
  if (const auto* inner = dynamic_cast<const Model*>(&layer); inner && options.expand_nested)
    add_rows(*inner, options, depth + 1, rows);
}

// Sequential (and any other chain): each layer's output shape from the previous one's.
void add_chain_rows(const Model& model, const SummaryOptions& options, int depth, std::vector<Row>& rows) {
  Shape shape = model.built() ? model.built_input_shape() : Shape{};
  for (const auto& layer : model.sublayers()) {
    if (layer->declared_input_shape()) continue;  // Keras lists no Input row for a Sequential
    std::string shape_text = "?";
    if (model.built()) {
      shape = layer->compute_output_shape(shape);
      shape_text = shape_with_none(shape);
    }
    rows.push_back({fmt::format("{} ({})", layer->name(), layer->class_name()), shape_text,
                    params_of(*layer, model.built()), "", layer->trainable(), depth});
    add_nested(*layer, options, depth, rows);
  }
}

// A functional model: every layer, its output's shape, and the tensors each call took
// ("conv2d[0][0]": layer, call, output), "-" for an input.
void add_graph_rows(const Functional& model, const SummaryOptions& options, int depth, std::vector<Row>& rows) {
  std::map<const layers::Node*, std::size_t> call_index;
  std::map<const layers::Layer*, std::size_t> calls;
  std::map<const layers::Layer*, Shape> output_shape;  // of the layer's first call
  for (const auto& in : model.inputs()) {
    call_index[in.node().get()] = calls[in.node()->layer.get()]++;
    output_shape.emplace(in.node()->layer.get(), in.node()->output_shape);
  }
  std::map<const layers::Layer*, std::string> connected;
  for (const auto& node : model.nodes()) {
    call_index[node.get()] = calls[node->layer.get()]++;
    output_shape.emplace(node->layer.get(), node->output_shape);
    std::string& text = connected[node->layer.get()];
    for (const auto& in : node->inputs)
      text += fmt::format("{}{}[{}][0]", text.empty() ? "" : ", ", in.node()->layer->name(), call_index.at(in.node().get()));
  }
  for (const auto& layer : model.layers()) {
    auto it = connected.find(layer.get());
    const std::string shape_text = shape_with_none(output_shape.at(layer.get()));
    rows.push_back({fmt::format("{} ({})", layer->name(), layer->class_name()), shape_text, params_of(*layer, true),
                    it == connected.end() ? "-" : it->second, layer->trainable(), depth});
    add_nested(*layer, options, depth, rows);
  }
}

void add_rows(const Model& model, const SummaryOptions& options, int depth, std::vector<Row>& rows) {
  if (const auto* functional = dynamic_cast<const Functional*>(&model)) add_graph_rows(*functional, options, depth, rows);
  else add_chain_rows(model, options, depth, rows);
}

struct Column {
  const char* header;
  int width;
  bool right;
};

}  // namespace

void Model::summary(SummaryOptions options) const { summary(std::cout, options); }

void Model::summary(std::ostream& out, SummaryOptions options) const {
  const_cast<Model*>(this)->build_from_declared_input();
  std::vector<Row> rows;
  add_rows(*this, options, 0, rows);
  const bool graph = dynamic_cast<const Functional*>(this) != nullptr;
  std::vector<Column> columns{{"Layer (type)", kNameWidth, false}, {"Output Shape", kShapeWidth, false},
                              {"Param #", kParamsWidth, true}};
  if (graph) columns.push_back({"Connected to", kConnectedWidth, false});
  if (options.show_trainable) columns.push_back({"Trainable", kTrainableWidth, false});

  out << fmt::format("Model: \"{}\"\n", name());
  auto border = [&](const char* left, const char* mid, const char* right, const char* fill) {
    out << left;
    for (std::size_t c = 0; c < columns.size(); ++c) out << (c ? mid : "") << repeat(fill, columns[c].width + 2);
    out << right << '\n';
  };
  auto line = [&](const char* bar, const std::vector<std::string>& cells) {
    for (std::size_t c = 0; c < columns.size(); ++c)
      out << bar << ' ' << cell(cells[c], columns[c].width, columns[c].right) << ' ';
    out << bar << '\n';
  };
  border("┏", "┳", "┓", "━");
  std::vector<std::string> headers;
  for (const auto& c : columns) headers.push_back(c.header);
  line("┃", headers);
  border("┡", "╇", "┩", "━");
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    std::vector<std::string> cells{std::string(static_cast<std::size_t>(2 * r.depth), ' ') + r.layer, r.shape, r.params};
    if (graph) cells.push_back(r.connected);
    if (options.show_trainable) cells.push_back(r.trainable ? "Y" : "N");
    line("│", cells);
    if (i + 1 < rows.size()) border("├", "┼", "┤", "─");
  }
  border("└", "┴", "┘", "─");
  auto all = weights(), trainable = trainable_weights(), frozen = non_trainable_weights();
  out << fmt::format(" Total params: {} ({})\n", with_commas(count_of(all)), memory_size(bytes_of(all)));
  out << fmt::format(" Trainable params: {} ({})\n", with_commas(count_of(trainable)), memory_size(bytes_of(trainable)));
  out << fmt::format(" Non-trainable params: {} ({})\n", with_commas(count_of(frozen)), memory_size(bytes_of(frozen)));
}

}  // namespace keel
