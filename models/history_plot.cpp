#include "keel/models/history_plot.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>

#include "keel/core/error.h"
#include "keel/models/history.h"

namespace keel {
namespace {

using SeriesMap = std::map<std::string, std::vector<double>>;

constexpr const char* kValPrefix = "val_";
constexpr double kPanelWidth = 480, kPanelHeight = 320;
constexpr double kMarginLeft = 64, kMarginRight = 20, kMarginTop = 44, kMarginBottom = 46;
constexpr double kTitleHeight = 40;
constexpr int kColumns = 2;
constexpr int kTargetTicks = 6;

struct Series {
  std::string key;
  const std::vector<double>* values;
  bool validation;
};

struct Panel {
  std::string name;
  std::vector<Series> series;  // training first, then validation
};

struct Axis {
  double lo, hi, step;
  int decimals;
};

std::string xml_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  }
  return out;
}

bool is_validation_key(const std::string& key) {
  return key.size() > std::strlen(kValPrefix) && key.starts_with(kValPrefix);
}

std::vector<Panel> group_into_panels(const SeriesMap& history) {
  std::map<std::string, Panel> by_base;
  for (const auto& [key, values] : history) {
    const bool validation = is_validation_key(key);
    const std::string base = validation ? key.substr(std::strlen(kValPrefix)) : key;
    Panel& panel = by_base[base];
    panel.name = base;
    panel.series.push_back(Series{key, &values, validation});
  }
  std::vector<Panel> panels;
  for (auto& [base, panel] : by_base) {
    std::stable_partition(panel.series.begin(), panel.series.end(), [](const Series& s) { return !s.validation; });
    panels.push_back(std::move(panel));
  }
  std::stable_partition(panels.begin(), panels.end(), [](const Panel& p) { return p.name == "loss"; });
  return panels;
}

// Ticks at a 1-2-5 step covering [lo, hi], the axis widened to whole steps.
Axis nice_axis(double lo, double hi, bool integer_steps) {
  if (!(hi > lo)) {
    const double pad = lo == 0 ? 1.0 : std::abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  const double raw = (hi - lo) / kTargetTicks;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  const double fraction = raw / magnitude;
  double step = (fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10) * magnitude;
  if (integer_steps) step = std::max(1.0, std::round(step));
  const int decimals = std::max(0, static_cast<int>(-std::floor(std::log10(step) + 1e-9)));
  return Axis{std::floor(lo / step) * step, std::ceil(hi / step) * step, step, decimals};
}

std::vector<double> ticks(const Axis& axis) {
  std::vector<double> out;
  const auto count = static_cast<long>(std::llround((axis.hi - axis.lo) / axis.step));
  for (long i = 0; i <= count; ++i) out.push_back(axis.lo + static_cast<double>(i) * axis.step);
  return out;
}

// Epoch numbers on the x axis: the first series value is `first`, the best one (if any) is marked.
struct EpochAxis {
  std::int64_t first;
  std::optional<std::size_t> best;
};

void append_panel(std::string& svg, const Panel& panel, const EpochAxis& epoch_axis, double left, double top) {
  std::size_t epochs = 0;
  double lo = INFINITY, hi = -INFINITY;
  for (const Series& s : panel.series) {
    epochs = std::max(epochs, s.values->size());
    for (double v : *s.values) {
      if (!std::isfinite(v)) continue;
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  }
  if (!(lo <= hi)) {  // nothing finite to show
    lo = 0;
    hi = 1;
  }
  const auto first = static_cast<double>(epoch_axis.first);
  const double last = first + static_cast<double>(epochs) - 1;
  const Axis xa = epochs > 1 ? nice_axis(first, last, true) : Axis{first - 1, first + 1, 1, 0};
  const Axis ya = nice_axis(lo, hi, false);

  const double x0 = kMarginLeft, x1 = kPanelWidth - kMarginRight;
  const double y0 = kPanelHeight - kMarginBottom, y1 = kMarginTop;
  auto px = [&](double x) { return x0 + (x - xa.lo) / (xa.hi - xa.lo) * (x1 - x0); };
  auto py = [&](double y) { return y0 - (y - ya.lo) / (ya.hi - ya.lo) * (y0 - y1); };

  auto out = std::back_inserter(svg);
  fmt::format_to(out, "<g transform=\"translate({:.1f},{:.1f})\">\n", left, top);
  fmt::format_to(out, "<text x=\"{:.1f}\" y=\"20\" font-size=\"14\" font-weight=\"bold\">{}</text>\n", x0,
                 xml_escape(panel.name));
  for (double t : ticks(ya)) {
    fmt::format_to(out, "<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#e5e5e5\"/>\n", x0,
                   py(t), x1, py(t));
    fmt::format_to(out, "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">{:.{}f}</text>\n", x0 - 6, py(t) + 4,
                   t, ya.decimals);
  }
  for (double t : ticks(xa)) {
    if (t < first || t > std::max(first, last)) continue;  // only epochs of the run
    fmt::format_to(out, "<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#999\"/>\n", px(t), y0,
                   px(t), y0 + 5);
    fmt::format_to(out, "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{:.0f}</text>\n", px(t), y0 + 18, t);
  }
  fmt::format_to(out, "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"none\" stroke=\"#999\"/>\n",
                 x0, y1, x1 - x0, y0 - y1);
  fmt::format_to(out, "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">epoch</text>\n", (x0 + x1) / 2, y0 + 36);
  if (epoch_axis.best) {
    const double best = first + static_cast<double>(*epoch_axis.best);
    fmt::format_to(out,
                   "<line data-best-epoch=\"{:.0f}\" x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" "
                   "stroke=\"#2ca02c\" stroke-dasharray=\"2,3\"/>\n",
                   best, px(best), y1, px(best), y0);
    fmt::format_to(out, "<text x=\"{:.1f}\" y=\"{:.1f}\" fill=\"#2ca02c\">best epoch {:.0f}</text>\n", px(best) + 4,
                   y1 + 14, best);
  }

  double legend_x = x1;
  for (auto it = panel.series.rbegin(); it != panel.series.rend(); ++it) {
    const Series& s = *it;
    const char* color = s.validation ? "#ff7f0e" : "#1f77b4";
    const char* dash = s.validation ? " stroke-dasharray=\"6,4\"" : "";
    std::string points;
    std::string dots;
    for (std::size_t i = 0; i < s.values->size(); ++i) {
      const double v = (*s.values)[i];
      if (!std::isfinite(v)) continue;
      const double x = px(first + static_cast<double>(i)), y = py(v);
      fmt::format_to(std::back_inserter(points), "{}{:.1f},{:.1f}", points.empty() ? "" : " ", x, y);
      fmt::format_to(std::back_inserter(dots), "<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"2.5\" fill=\"{}\"/>\n", x, y,
                     color);
    }
    fmt::format_to(out, "<polyline data-series=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"{} points=\"{}\"/>\n",
                   xml_escape(s.key), color, dash, points);
    svg += dots;
    // Legend entries right-aligned in the top margin, laid out from the right.
    const double text_width = 7.0 * static_cast<double>(s.key.size());
    legend_x -= text_width;
    fmt::format_to(out, "<text x=\"{:.1f}\" y=\"34\">{}</text>\n", legend_x, xml_escape(s.key));
    fmt::format_to(out, "<line x1=\"{:.1f}\" y1=\"30\" x2=\"{:.1f}\" y2=\"30\" stroke=\"{}\" stroke-width=\"2\"{}/>\n",
                   legend_x - 26, legend_x - 4, color, dash);
    legend_x -= 40;
  }
  svg += "</g>\n";
}

std::string svg_from(const SeriesMap& history, std::int64_t first_epoch, const std::string& title) {
  if (history.empty()) throw ValueError("history_svg: argument history is empty (no metrics to plot)");
  if (std::all_of(history.begin(), history.end(), [](const auto& kv) { return kv.second.empty(); })) {
    throw ValueError("history_svg: argument history holds no values (every metric has 0 epochs)");
  }
  const std::vector<Panel> panels = group_into_panels(history);
  auto monitored = history.find(best_epoch_monitor(history.count("val_loss") > 0));
  const EpochAxis epoch_axis{first_epoch, monitored == history.end() ? std::nullopt : best_index(monitored->second)};
  const int columns = std::min<int>(kColumns, static_cast<int>(panels.size()));
  const int rows = (static_cast<int>(panels.size()) + columns - 1) / columns;
  const double width = columns * kPanelWidth, height = kTitleHeight + rows * kPanelHeight;

  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0:.0f}\" height=\"{1:.0f}\" viewBox=\"0 0 {0:.0f} {1:.0f}\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n"
      "<rect x=\"0\" y=\"0\" width=\"{0:.0f}\" height=\"{1:.0f}\" fill=\"white\"/>\n"
      "<text x=\"{2:.1f}\" y=\"26\" text-anchor=\"middle\" font-size=\"16\" font-weight=\"bold\">{3}</text>\n",
      width, height, width / 2, xml_escape(title));
  for (std::size_t i = 0; i < panels.size(); ++i) {
    const auto col = static_cast<double>(static_cast<int>(i) % columns);
    const auto row = static_cast<double>(static_cast<int>(i) / columns);
    append_panel(svg, panels[i], epoch_axis, col * kPanelWidth, kTitleHeight + row * kPanelHeight);
  }
  svg += "</svg>\n";
  return svg;
}

}  // namespace

std::string history_svg(const SeriesMap& history, const std::string& title, std::int64_t first_epoch) {
  return svg_from(history, first_epoch, title);
}

void write_history_svg(const std::filesystem::path& path, const SeriesMap& history, const std::string& title,
                       std::int64_t first_epoch) {
  const std::string svg = history_svg(history, title, first_epoch);
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  if (!file) throw IOError(fmt::format("write_history_svg: cannot open '{}' for writing", path.string()));
  file.write(svg.data(), static_cast<std::streamsize>(svg.size()));
  file.close();
  if (!file) throw IOError(fmt::format("write_history_svg: writing '{}' failed", path.string()));
}

}  // namespace keel
