#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "keel/core/error.h"
#include "keel/models/history_plot.h"
#include "support/temp_dir.h"

using Catch::Matchers::Contains;
using keel::history_svg;
using History = std::map<std::string, std::vector<double>>;

namespace {

// Every <name ...> is closed by </name> in nesting order; <name .../> closes itself.
bool tags_balanced(const std::string& svg) {
  std::vector<std::string> open;
  std::size_t pos = 0;
  while ((pos = svg.find('<', pos)) != std::string::npos) {
    const std::size_t end = svg.find('>', pos);
    if (end == std::string::npos) return false;
    const std::string tag = svg.substr(pos + 1, end - pos - 1);
    pos = end + 1;
    if (tag.empty()) return false;
    if (tag.back() == '/') continue;
    if (tag.front() == '/') {
      if (open.empty() || open.back() != tag.substr(1)) return false;
      open.pop_back();
    } else {
      open.push_back(tag.substr(0, tag.find(' ')));
    }
  }
  return open.empty();
}

struct Polyline {
  std::string series;
  std::vector<std::pair<double, double>> points;
};

// The value of attribute `name` in the element starting at `pos`.
std::string attribute(const std::string& svg, std::size_t pos, const std::string& name) {
  const std::size_t element_end = svg.find('>', pos);
  const std::size_t start = svg.find(" " + name + "=\"", pos);
  if (start == std::string::npos || start > element_end) return {};
  const std::size_t value = start + name.size() + 3;
  return svg.substr(value, svg.find('"', value) - value);
}

std::vector<Polyline> polylines(const std::string& svg) {
  std::vector<Polyline> out;
  for (std::size_t pos = svg.find("<polyline "); pos != std::string::npos; pos = svg.find("<polyline ", pos + 1)) {
    Polyline p{attribute(svg, pos, "data-series"), {}};
    std::istringstream in(attribute(svg, pos, "points"));
    std::string pair;
    while (in >> pair) {
      const auto comma = pair.find(',');
      p.points.emplace_back(std::stod(pair.substr(0, comma)), std::stod(pair.substr(comma + 1)));
    }
    out.push_back(p);
  }
  return out;
}

const Polyline& find_series(const std::vector<Polyline>& lines, const std::string& key) {
  for (const Polyline& p : lines) {
    if (p.series == key) return p;
  }
  FAIL("no polyline for " << key);
  throw std::logic_error("unreachable");
}

std::string trimmed(const std::string& s) { return s.substr(0, s.find_last_not_of(" \n") + 1); }

}  // namespace

TEST_CASE("history_svg writes well-formed SVG with one polyline per series", "[plot]") {
  const History h = {{"loss", {1.2, 0.8, 0.6, 0.5, 0.45}},
                     {"val_loss", {1.3, 0.9, 0.75, 0.7, 0.72}},
                     {"accuracy", {0.5, 0.7, 0.8, 0.85, 0.87}},
                     {"val_accuracy", {0.45, 0.65, 0.74, 0.78, 0.77}},
                     {"lr", {0.1, 0.1, 0.05, 0.05, 0.01}}};
  const std::string svg = history_svg(h, "run 1");
  CHECK(svg.starts_with("<svg "));
  CHECK(trimmed(svg).ends_with("</svg>"));
  CHECK(tags_balanced(svg));
  const std::vector<Polyline> lines = polylines(svg);
  REQUIRE(lines.size() == 5);
  for (const auto& [key, values] : h) CHECK(find_series(lines, key).points.size() == values.size());

  // x is the epoch: points are evenly spaced left to right; y is inverted (a smaller loss is lower).
  const Polyline& loss = find_series(lines, "loss");
  const double dx = loss.points[1].first - loss.points[0].first;
  CHECK(dx > 0);
  for (std::size_t i = 1; i < loss.points.size(); ++i) {
    CHECK(loss.points[i].first - loss.points[i - 1].first == Approx(dx).margin(0.11));
    CHECK(loss.points[i].second > loss.points[i - 1].second);
  }
  // The pixel heights follow the values linearly: (y1 - y0) / (y4 - y0) == (v1 - v0) / (v4 - v0).
  CHECK((loss.points[1].second - loss.points[0].second) / (loss.points[4].second - loss.points[0].second) ==
        Approx((0.8 - 1.2) / (0.45 - 1.2)).epsilon(0.01));
}

TEST_CASE("history_svg pairs val_ keys with their base panel", "[plot]") {
  const History h = {{"loss", {1, 0.5}}, {"val_loss", {1.1, 0.7}}, {"accuracy", {0.5, 0.9}},
                     {"val_accuracy", {0.4, 0.8}}, {"val_auc", {0.6, 0.7}}, {"lr", {0.1, 0.01}}};
  const std::string svg = history_svg(h, "t");
  // Panels are <g> groups; a series belongs to the group it appears in.
  std::vector<std::vector<std::string>> groups;
  std::size_t pos = 0;
  while ((pos = svg.find("<g ", pos)) != std::string::npos) {
    const std::size_t end = svg.find("</g>", pos);
    const std::string body = svg.substr(pos, end - pos);
    std::vector<std::string> keys;
    for (const Polyline& p : polylines(body)) keys.push_back(p.series);
    std::sort(keys.begin(), keys.end());
    groups.push_back(keys);
    pos = end;
  }
  using Keys = std::vector<std::string>;
  REQUIRE(groups.size() == 4);
  CHECK(groups[0] == Keys{"loss", "val_loss"});  // loss first, the rest in key order
  CHECK(groups[1] == Keys{"accuracy", "val_accuracy"});
  CHECK(groups[2] == Keys{"val_auc"});
  CHECK(groups[3] == Keys{"lr"});
  CHECK_THAT(svg, Contains("stroke-dasharray"));  // validation curves are dashed
}

TEST_CASE("history_svg skips NaN and infinite values and handles one epoch", "[plot]") {
  const History h = {{"loss", {2.0, NAN, 1.0, INFINITY, 0.5}}, {"val_loss", {NAN, NAN, NAN}}};
  const std::string svg = history_svg(h, "gaps");
  CHECK(tags_balanced(svg));
  const std::vector<Polyline> lines = polylines(svg);
  CHECK(find_series(lines, "loss").points.size() == 3);
  CHECK(find_series(lines, "val_loss").points.empty());
  CHECK_THAT(svg, !Contains("nan") && !Contains("inf"));

  const std::string one = history_svg({{"loss", {0.7}}, {"val_loss", {0.9}}}, "one epoch");
  CHECK(tags_balanced(one));
  const std::vector<Polyline> single = polylines(one);
  REQUIRE(single.size() == 2);
  CHECK(find_series(single, "loss").points.size() == 1);
  CHECK(find_series(single, "loss").points[0].first == find_series(single, "val_loss").points[0].first);
  CHECK_THAT(one, Contains(">0</text>") && !Contains(">1</text>"));  // only the epoch-0 tick label
}

TEST_CASE("history_svg escapes markup in the title and keys", "[plot]") {
  const std::string svg = history_svg({{"a<b", {1, 2}}}, "R&D <fit> \"x\"");
  CHECK_THAT(svg, Contains("R&amp;D &lt;fit&gt; &quot;x&quot;") && Contains("a&lt;b"));
  CHECK_THAT(svg, !Contains("<fit>") && !Contains("a<b"));
  CHECK(tags_balanced(svg));
}

TEST_CASE("history_svg refuses an empty history naming the argument", "[plot]") {
  REQUIRE_THROWS_AS(history_svg({}, "t"), keel::ValueError);
  REQUIRE_THROWS_WITH(history_svg({}, "t"), Contains("history_svg") && Contains("argument history"));
  REQUIRE_THROWS_WITH(history_svg({{"loss", {}}}, "t"), Contains("argument history") && Contains("0 epochs"));
}

TEST_CASE("write_history_svg writes the file and names the path on failure", "[plot]") {
  keel::test::TempDir dir("plot");
  const History h = {{"loss", {1, 0.5, 0.25}}};
  keel::write_history_svg(dir / "h.svg", h, "t");
  std::ifstream f(dir / "h.svg");
  const std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  CHECK(text == history_svg(h, "t"));
  const auto bad = dir / "missing" / "h.svg";
  REQUIRE_THROWS_AS(keel::write_history_svg(bad, h, "t"), keel::IOError);
  REQUIRE_THROWS_WITH(keel::write_history_svg(bad, h, "t"), Contains(bad.string()));
}

namespace {

// The epoch numbers written as tick labels on the x axes ("epoch" axes: below the plot area).
bool has_tick(const std::string& svg, int epoch) {
  return svg.find("text-anchor=\"middle\">" + std::to_string(epoch) + "</text>") != std::string::npos;
}

// The epoch the first best-epoch marker names ("" when there is none).
std::string best_epoch_of(const std::string& svg) {
  const std::size_t at = svg.find(" data-best-epoch=");
  return at == std::string::npos ? "" : attribute(svg, svg.rfind('<', at), "data-best-epoch");
}

}  // namespace

TEST_CASE("history_svg numbers epochs from 0 like History and CSVLogger and marks the best epoch", "[plot]") {
  // val_loss is lowest at epoch 2; loss is lowest at epoch 1 but the validation loss decides.
  const History h = {{"loss", {1.0, 0.5, 0.7, 0.6}}, {"val_loss", {1.2, 0.9, 0.8, 0.8}}};
  const std::string svg = history_svg(h, "best");
  CHECK(tags_balanced(svg));
  CHECK(has_tick(svg, 0));
  CHECK(best_epoch_of(svg) == "2");
  CHECK_THAT(svg, Contains("best epoch 2"));
  // The first epoch's point sits on the first tick (epoch 0), not one step to its right.
  const std::vector<Polyline> lines = polylines(svg);
  CHECK(find_series(lines, "loss").points[0].first == Approx(64.0));  // the plot area's left edge

  // Without validation the lowest loss marks it; NaN never does.
  const std::string train_only = history_svg({{"loss", {NAN, 0.9, 0.4, 0.4}}}, "train");
  CHECK(best_epoch_of(train_only) == "2");
  CHECK_THAT(history_svg({{"accuracy", {0.5, 0.6}}}, "no loss"), !Contains("data-best-epoch"));

  // A resumed run (initial_epoch 3) keeps its epoch numbers.
  const std::string later = history_svg({{"loss", {0.3, 0.2, 0.25}}}, "resumed", 3);
  CHECK(best_epoch_of(later) == "4");
  CHECK(has_tick(later, 3));
  CHECK_FALSE(has_tick(later, 0));
}
