// Pictures a person can open directly: standalone SVG line charts, heatmaps and grids of them.
//
// Hand-written and small on purpose: the layout estimates text widths from the font size
// (DejaVu Sans averages about 0.6 em per glyph) instead of measuring glyphs.
#pragma once
#include <cmath>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>
#include "autograd/tensor.h"

namespace dl::plot {

struct Series {
  std::string name;               // legend entry; no legend when every name is empty
  std::vector<double> x, y;       // non-finite points break the line (so do x <= 0 on a log axis)
  std::vector<double> spread;     // empty, or one per point: a shaded band y - spread .. y + spread
};

// Axis ticks: whole numbers when every x is one (epochs); on a log x axis, at the data's own x
// values when they are few and far enough apart (a sweep's training sizes), else at powers of
// ten, labelled as counts are written (250, 2.5k, 10k, 1M).
struct LineChart {
  std::string title, x_label, y_label;
  std::vector<Series> series;
  bool log_x = false;
};

// A matrix drawn as coloured cells: a diverging map centred on 0 (blue < 0 < red) when the
// colour scale reaches below 0, else a sequential map (viridis). Non-finite cells are grey.
struct Heatmap {
  std::string title, x_label, y_label;  // x names the columns, y the rows
  int64_t rows = 0, cols = 0;
  std::vector<double> values;           // (rows, cols), row-major
  std::vector<std::string> row_labels, col_labels;  // empty (indices are shown) or one each
  double vmin = NAN, vmax = NAN;        // colour scale limits; NaN takes them from the data
  std::string colour_label = "value";   // the colour bar's title, e.g. "attention weight"
};

// A heatmap of a 2-D tensor, e.g. one head's attention matrix (T, S).
Heatmap heatmap(const Tensor& matrix, std::string title = "");

using Panel = std::variant<LineChart, Heatmap>;

// Panels in a grid, row by row, each with its own title, under an optional overall title.
struct Figure {
  std::string title;
  std::vector<Panel> panels;
  int columns = 0;  // 0: about as many columns as rows
  double panel_width = 420, panel_height = 340;
};

std::string to_svg(const Figure& figure);
std::string to_svg(const LineChart& chart);  // a single 720 x 440 chart
std::string to_svg(const Heatmap& map);      // a single 560 x 480 heatmap

// Writes svg text to path (atomically); throws dl::Error naming path when it cannot.
void save_svg(const std::string& path, const std::string& svg);

}  // namespace dl::plot
