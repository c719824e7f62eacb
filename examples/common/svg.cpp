#include "examples/common/svg.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <limits>
#include <type_traits>
#include "examples/common/run_dir.h"

namespace dl::plot {
namespace {

constexpr double kGlyph = 0.6;  // average glyph width, in em
constexpr double kTickFont = 11, kLabelFont = 12, kTitleFont = 14, kFigureFont = 17;
const char* const kPalette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
const std::vector<uint32_t> kViridis = {0x440154, 0x472d7b, 0x3b528b, 0x2c728e, 0x21918c,
                                        0x28ae80, 0x5ec962, 0xaddc30, 0xfde725};
const std::vector<uint32_t> kBlueRed = {0x2166ac, 0x67a9cf, 0xd1e5f0, 0xf7f7f7,
                                        0xfddbc7, 0xef8a62, 0xb2182b};  // ColorBrewer RdBu
constexpr uint32_t kMissing = 0xd0d0d0;

// ---------------------------------------------------------------- text and numbers

size_t glyph_count(const std::string& s) {  // UTF-8 code points: bytes that do not continue one
  return std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; });
}

double text_width(const std::string& s, double size) { return glyph_count(s) * size * kGlyph; }

double widest(const std::vector<std::string>& texts, double size) {
  double w = 0;
  for (const auto& s : texts) w = std::max(w, text_width(s, size));
  return w;
}

// s cut at a code point boundary and ended with an ellipsis when it has more than max_glyphs.
std::string shorten(const std::string& s, double max_glyphs) {
  if (glyph_count(s) <= max_glyphs) return s;
  size_t end = 0;
  for (double kept = 0; end < s.size(); ++end)
    if ((s[end] & 0xC0) != 0x80 && ++kept > max_glyphs - 1) break;
  return s.substr(0, end) + "\u2026";
}

// s shortened to fit max_width at this font size.
std::string fit(const std::string& s, double size, double max_width) {
  return shorten(s, std::floor(max_width / (size * kGlyph)));
}

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:  // XML forbids the other control characters
        if (static_cast<unsigned char>(c) >= 0x20) out += c;
    }
  }
  return out;
}

// A coordinate, locale-independent, to a tenth of a pixel.
std::string num(double v) {
  char buf[64];
  std::string s(buf, std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, 1).ptr);
  if (s.size() > 2 && s.compare(s.size() - 2, 2, ".0") == 0) s.resize(s.size() - 2);
  return s == "-0" ? "0" : s;
}

// printf's %g without the exponent's padding: 1e+05 -> 1e5, 2e-07 -> 2e-7.
std::string short_g(double v, int digits) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  std::string s = buf;
  const size_t e = s.find('e');
  if (e == std::string::npos) return s;
  std::string exponent = s.substr(e + 1);
  const bool negative = exponent[0] == '-';
  exponent.erase(0, exponent.find_first_not_of("+-0"));
  return s.substr(0, e + 1) + (negative ? "-" : "") + exponent;
}

// A count as people write it: 250, 2.5k, 10k, 1M; other values as %g (0.001, 1e-5).
std::string size_label(double v) {
  const double a = std::fabs(v);
  if (a >= 1e9 && a < 1e12) return short_g(v / 1e9, 3) + "G";
  if (a >= 1e6 && a < 1e9) return short_g(v / 1e6, 3) + "M";
  if (a >= 1e3 && a < 1e6) return short_g(v / 1e3, 3) + "k";
  return short_g(v, 3);
}

// ---------------------------------------------------------------- the document

struct Svg {
  std::string out;
  int next_id = 0;  // gradients need ids unique in the document

  // Text with its baseline at y. anchor: start, middle or end.
  void text(double x, double y, const std::string& s, double size, const char* anchor,
            const std::string& attributes = "") {
    out += "<text x='" + num(x) + "' y='" + num(y) + "' font-size='" + num(size) +
           "' text-anchor='" + anchor + "'" + attributes + ">" + escape(s) + "</text>\n";
  }
  // Text reading upwards, centred on x.
  void vertical_text(double x, double y, const std::string& s, double size, const char* anchor) {
    const double baseline = x + 0.35 * size;
    text(baseline, y, s, size, anchor, " transform='rotate(-90 " + num(baseline) + " " + num(y) + ")'");
  }
  void line(double x1, double y1, double x2, double y2, const std::string& stroke, double width = 1) {
    out += "<line x1='" + num(x1) + "' y1='" + num(y1) + "' x2='" + num(x2) + "' y2='" + num(y2) +
           "' stroke='" + stroke + "' stroke-width='" + num(width) + "'/>\n";
  }
  void rect(double x, double y, double w, double h, const std::string& attributes) {
    out += "<rect x='" + num(x) + "' y='" + num(y) + "' width='" + num(w) + "' height='" + num(h) +
           "' " + attributes + "/>\n";
  }
  void title(const std::string& s, double width) {
    if (!s.empty())
      text(width / 2, 22, fit(s, kTitleFont, width - 12), kTitleFont, "middle", " font-weight='bold'");
  }
};

// ---------------------------------------------------------------- axes

struct Range {
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  void add(double v) {
    if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
  }
  bool empty() const { return lo > hi; }
};

// Data values to pixels along one axis: lo -> p0, hi -> p1.
struct Scale {
  double lo, hi, p0, p1;
  bool log = false;
  double operator()(double v) const {
    auto f = [&](double u) { return log ? std::log10(u) : u; };
    return p0 + (f(v) - f(lo)) / (f(hi) - f(lo)) * (p1 - p0);
  }
};

struct Ticks {
  double lo, hi;  // the axis range, which may have grown to whole ticks
  std::vector<double> at;
  std::vector<std::string> labels;
};

// Ticks at multiples of 1, 2 or 5 times a power of ten, about `target` of them (whole numbers
// only when `whole`, as for epochs). extend grows [lo, hi] to the next ticks outside it, so the
// data never touches an unlabelled edge.
Ticks linear_ticks(double lo, double hi, double target, bool extend, bool whole = false) {
  const double raw = (hi - lo) / std::max(target, 1.0);
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  const double n = raw / power;
  const double step = std::max((n < 1.5 ? 1 : n < 3 ? 2 : n < 7 ? 5 : 10) * power, whole ? 1.0 : 0.0);
  const double eps = 1e-9;
  if (extend) lo = std::floor(lo / step + eps) * step, hi = std::ceil(hi / step - eps) * step;
  Ticks t{lo, hi, {}, {}};
  // one format for the whole axis: fixed decimals of the step, or %g for very large or small
  const bool g = std::max(std::fabs(lo), std::fabs(hi)) >= 1e5 || step < 1e-4;
  const int decimals = std::max(0, -static_cast<int>(std::floor(std::log10(step) + eps)));
  const double first = std::ceil(lo / step - eps), last = std::floor(hi / step + eps);
  for (double k = first; k <= last && t.at.size() < 50; ++k) {
    const double v = k == 0 ? 0.0 : k * step;  // never "-0"
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    t.at.push_back(v);
    t.labels.push_back(g ? short_g(v, 3) : buf);
  }
  return t;
}

// Ticks at powers of ten, and at 2 and 5 times them when a decade is wide enough for them (or
// when the range holds at most one power of ten).
Ticks log_ticks(double lo, double hi, double width) {
  const int d0 = static_cast<int>(std::floor(std::log10(lo) + 1e-9));
  const int d1 = static_cast<int>(std::ceil(std::log10(hi) - 1e-9));
  const int every = std::max(1, (d1 - d0 + 5) / 6);
  const bool fine = d1 - d0 <= 1 || width / (d1 - d0) >= 150;
  const std::vector<double> mantissas = fine ? std::vector<double>{1, 2, 5} : std::vector<double>{1};
  Ticks t{lo, hi, {}, {}};
  for (int d = d0; d <= d1; d += every)
    for (double m : mantissas) {
      const double v = m * std::pow(10.0, d);
      if (v < lo * (1 - 1e-9) || v > hi * (1 + 1e-9)) continue;
      t.at.push_back(v);
      t.labels.push_back(size_label(v));
    }
  return t;
}

// Ticks at the data's own x values (the training sizes of a sweep, say) when there are at most
// eight and each label has room (40 pixels) from the next; else at powers of ten.
Ticks log_ticks_at(const std::vector<double>& xs, double lo, double hi, double width) {
  const auto pixels = [&](double a, double b) { return width * std::log10(b / a) / std::log10(hi / lo); };
  bool room = xs.size() <= 8;
  for (size_t i = 1; room && i < xs.size(); ++i) room = pixels(xs[i - 1], xs[i]) >= 40;
  if (!room || xs.empty()) return log_ticks(lo, hi, width);
  Ticks t{lo, hi, xs, {}};
  for (double v : xs) t.labels.push_back(size_label(v));
  return t;
}

// ---------------------------------------------------------------- line charts

bool usable(const LineChart& c, double x, double y) {
  return std::isfinite(x) && std::isfinite(y) && (!c.log_x || x > 0);
}

void check_series(const LineChart& c) {
  for (const Series& s : c.series) {
    DL_CHECK(s.x.size() == s.y.size(), "plot",
             "series '" + s.name + "' has " + std::to_string(s.x.size()) + " x values and " +
                 std::to_string(s.y.size()) + " y values");
    DL_CHECK(s.spread.empty() || s.spread.size() == s.y.size(), "plot",
             "series '" + s.name + "' has " + std::to_string(s.spread.size()) + " spread values for " +
                 std::to_string(s.y.size()) + " points");
  }
}

// A degenerate or empty range opened up so that it has a width.
Range widened(Range r, bool log) {
  if (r.empty()) return log ? Range{1, 10} : Range{0, 1};
  if (r.hi - r.lo > 1e-9 * std::max(std::fabs(r.lo), std::fabs(r.hi))) return r;
  if (log) return {r.lo / 2, r.hi * 2};
  const double pad = r.lo == 0 ? 1 : std::fabs(r.lo) * 0.1;
  return {r.lo - pad, r.hi + pad};
}

struct Frame {  // the plot area of a chart and its axes
  Scale x, y;
  Ticks xt, yt;
};

Frame chart_frame(const LineChart& c, double w, double h, double reserve_right) {
  Range xr, yr;
  std::vector<double> xs;  // the usable x values, sorted, each once
  bool whole_x = true;     // every x a whole number (epochs, steps): whole-number ticks
  for (const Series& s : c.series)
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!usable(c, s.x[i], s.y[i])) continue;
      xr.add(s.x[i]);
      xs.push_back(s.x[i]);
      whole_x = whole_x && s.x[i] == std::round(s.x[i]);
      yr.add(s.y[i]);
      if (!s.spread.empty() && std::isfinite(s.spread[i])) yr.add(s.y[i] - s.spread[i]), yr.add(s.y[i] + s.spread[i]);
    }
  std::sort(xs.begin(), xs.end());
  xs.erase(std::unique(xs.begin(), xs.end()), xs.end());
  xr = widened(xr, c.log_x);
  yr = widened(yr, false);
  const double top = c.title.empty() ? 14 : 36;
  const double bottom = h - (c.x_label.empty() ? 26 : 44);
  Ticks yt = linear_ticks(yr.lo, yr.hi, std::max(3.0, (bottom - top) / 55), true);
  const double left = widest(yt.labels, kTickFont) + 12 + (c.y_label.empty() ? 4 : 24);
  const double approx_width = w - left - 16 - reserve_right;
  Ticks xt = c.log_x ? log_ticks_at(xs, xr.lo, xr.hi, approx_width)
                     : linear_ticks(xr.lo, xr.hi, std::max(2.0, approx_width / 90), false, whole_x);
  // room for half of the last x tick label beyond the plot area
  const double right = w - reserve_right -
                       std::max(16.0, (xt.labels.empty() ? 0 : text_width(xt.labels.back(), kTickFont) / 2) + 4);
  return {{xt.lo, xt.hi, left, right, c.log_x}, {yt.lo, yt.hi, bottom, top}, xt, yt};
}

// The usable points of a series as pixel runs; a non-usable point ends a run.
std::vector<std::vector<std::pair<double, double>>> pixel_runs(const LineChart& c, const Series& s,
                                                               const Frame& f) {
  std::vector<std::vector<std::pair<double, double>>> runs(1);
  for (size_t i = 0; i < s.x.size(); ++i) {
    if (usable(c, s.x[i], s.y[i])) runs.back().emplace_back(f.x(s.x[i]), f.y(s.y[i]));
    else if (!runs.back().empty()) runs.emplace_back();
  }
  if (runs.back().empty()) runs.pop_back();
  return runs;
}

std::string points_attribute(const std::vector<std::pair<double, double>>& points) {
  std::string s;
  for (const auto& [x, y] : points) s += (s.empty() ? "" : " ") + num(x) + "," + num(y);
  return s;
}

// The shaded band y - spread .. y + spread, one polygon per run of usable points.
void draw_band(Svg& svg, const LineChart& c, const Series& s, const Frame& f, const char* colour) {
  std::vector<std::pair<double, double>> upper, lower;
  auto flush = [&] {
    if (upper.size() > 1) {
      upper.insert(upper.end(), lower.rbegin(), lower.rend());
      svg.out += "<polygon points='" + points_attribute(upper) + "' fill='" + colour +
                 "' fill-opacity='0.18' stroke='none'/>\n";
    }
    upper.clear(), lower.clear();
  };
  for (size_t i = 0; i < s.x.size(); ++i) {
    if (usable(c, s.x[i], s.y[i]) && std::isfinite(s.spread[i])) {
      upper.emplace_back(f.x(s.x[i]), f.y(s.y[i] + s.spread[i]));
      lower.emplace_back(f.x(s.x[i]), f.y(s.y[i] - s.spread[i]));
    } else {
      flush();
    }
  }
  flush();
}

void draw_series(Svg& svg, const LineChart& c, const Series& s, const Frame& f, const char* colour) {
  const auto runs = pixel_runs(c, s, f);
  size_t points = 0;
  for (const auto& run : runs) points += run.size();
  for (const auto& run : runs) {
    if (run.size() > 1)
      svg.out += "<polyline points='" + points_attribute(run) + "' fill='none' stroke='" + colour +
                 "' stroke-width='2' stroke-linejoin='round'/>\n";
    // markers show where the data is when there are few points, and make lone points visible
    if (points <= 40 || run.size() == 1)
      for (const auto& [x, y] : run)
        svg.out += "<circle cx='" + num(x) + "' cy='" + num(y) + "' r='2.5' fill='" + colour + "'/>\n";
  }
}

void draw_axes(Svg& svg, const LineChart& c, const Frame& f, double h) {
  const double x0 = f.x.p0, x1 = f.x.p1, y0 = f.y.p0, y1 = f.y.p1;
  for (double v : f.yt.at) svg.line(x0, f.y(v), x1, f.y(v), "#e6e6e6");
  for (double v : f.xt.at) svg.line(f.x(v), y0, f.x(v), y1, "#e6e6e6");
  svg.line(x0, y0, x1, y0, "#444");
  svg.line(x0, y0, x0, y1, "#444");
  for (size_t i = 0; i < f.yt.at.size(); ++i) {
    const double y = f.y(f.yt.at[i]);
    svg.line(x0 - 5, y, x0, y, "#444");
    svg.text(x0 - 8, y + 0.35 * kTickFont, f.yt.labels[i], kTickFont, "end");
  }
  for (size_t i = 0; i < f.xt.at.size(); ++i) {
    const double x = f.x(f.xt.at[i]);
    svg.line(x, y0, x, y0 + 5, "#444");
    svg.text(x, y0 + 6 + kTickFont, f.xt.labels[i], kTickFont, "middle");
  }
  if (!c.x_label.empty())
    svg.text((x0 + x1) / 2, h - 8, fit(c.x_label, kLabelFont, x1 - x0), kLabelFont, "middle");
  if (!c.y_label.empty())
    svg.vertical_text(8, (y0 + y1) / 2, fit(c.y_label, kLabelFont, y0 - y1), kLabelFont, "middle");
}

struct Box {
  double x, y, w, h;
  bool contains(double px, double py) const { return px >= x && px <= x + w && py >= y && py <= y + h; }
};

constexpr double kLegendRow = 17;

// Data points and points along the lines (in pixels) that a legend at box would hide.
int hidden_points(const LineChart& c, const Frame& f, const Box& box) {
  int hidden = 0;
  for (const Series& s : c.series)
    for (const auto& run : pixel_runs(c, s, f))
      for (size_t i = 0; i < run.size(); ++i) {
        const auto [xa, ya] = run[i];
        const auto [xb, yb] = run[std::min(i + 1, run.size() - 1)];
        for (double t = 0; t < 1; t += 0.125) hidden += box.contains(xa + t * (xb - xa), ya + t * (yb - ya));
      }
  return hidden;
}

// A legend entry, cut so that the legend stays under 40% of the panel width.
std::string legend_name(const std::string& name, double w) { return fit(name, kTickFont, 0.4 * w - 42); }

void draw_legend(Svg& svg, const LineChart& c, const Box& box, double w) {
  svg.rect(box.x, box.y, box.w, box.h, "fill='white' fill-opacity='0.9' stroke='#bbb' rx='3'");
  double y = box.y + 6 + kLegendRow / 2;
  for (size_t i = 0; i < c.series.size(); ++i) {
    if (c.series[i].name.empty()) continue;
    svg.line(box.x + 8, y, box.x + 28, y, kPalette[i % 10], 2.5);
    svg.text(box.x + 34, y + 0.35 * kTickFont, legend_name(c.series[i].name, w), kTickFont, "start");
    y += kLegendRow;
  }
}

void draw_chart(Svg& svg, const LineChart& c, double w, double h) {
  check_series(c);
  int entries = 0;
  double legend_w = 0;
  for (const Series& s : c.series) {
    if (s.name.empty()) continue;
    ++entries;
    legend_w = std::max(legend_w, 42 + text_width(legend_name(s.name, w), kTickFont));
  }
  const double legend_h = 12 + entries * kLegendRow;
  Frame f = chart_frame(c, w, h, 0);
  Box legend{0, 0, legend_w, legend_h};
  if (entries > 0) {
    // the inside corner hiding the least data; outside on the right when every corner hides
    // some, unless that would squeeze the plot too much
    int least = std::numeric_limits<int>::max();
    for (bool right : {true, false})
      for (bool up : {true, false}) {
        const Box b{right ? f.x.p1 - legend_w - 8 : f.x.p0 + 8, up ? f.y.p1 + 8 : f.y.p0 - legend_h - 8, legend_w, legend_h};
        const int hidden = hidden_points(c, f, b);
        if (hidden < least) least = hidden, legend = b;
      }
    const double plot_w = f.x.p1 - f.x.p0;
    if (least > 0 && plot_w - legend_w - 12 >= 0.6 * plot_w) {
      f = chart_frame(c, w, h, legend_w + 12);
      legend = {f.x.p1 + 12, f.y.p1, legend_w, legend_h};
    }
  }
  svg.title(c.title, w);
  draw_axes(svg, c, f, h);
  for (size_t i = 0; i < c.series.size(); ++i)
    if (!c.series[i].spread.empty()) draw_band(svg, c, c.series[i], f, kPalette[i % 10]);
  for (size_t i = 0; i < c.series.size(); ++i) draw_series(svg, c, c.series[i], f, kPalette[i % 10]);
  if (entries > 0) draw_legend(svg, c, legend, w);
}

// ---------------------------------------------------------------- heatmaps

struct Rgb {
  double r, g, b;  // 0..255
};

Rgb rgb(uint32_t hex) { return {double(hex >> 16), double((hex >> 8) & 0xff), double(hex & 0xff)}; }

std::string hex(Rgb c) {
  const auto channel = [](double v) { return static_cast<unsigned>(std::clamp(std::lround(v), 0L, 255L)); };
  char buf[8];
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x", channel(c.r), channel(c.g), channel(c.b));
  return buf;
}

// Piecewise-linear between evenly spaced stops; t in [0, 1].
Rgb sample(const std::vector<uint32_t>& stops, double t) {
  const double u = std::clamp(t, 0.0, 1.0) * (stops.size() - 1);
  const size_t i = std::min(static_cast<size_t>(u), stops.size() - 2);
  const Rgb a = rgb(stops[i]), b = rgb(stops[i + 1]);
  const double s = u - i;
  return {a.r + s * (b.r - a.r), a.g + s * (b.g - a.g), a.b + s * (b.b - a.b)};
}

struct ColourScale {
  double lo, hi;
  const std::vector<uint32_t>* stops;
  Rgb operator()(double v) const { return std::isfinite(v) ? sample(*stops, (v - lo) / (hi - lo)) : rgb(kMissing); }
};

// Diverging and symmetric about 0 when the scale reaches below 0, so 0 is always white.
ColourScale colour_scale(const Heatmap& m) {
  Range r;
  for (double v : m.values) r.add(v);
  double lo = std::isnan(m.vmin) ? r.lo : m.vmin, hi = std::isnan(m.vmax) ? r.hi : m.vmax;
  if (r.empty() && (std::isnan(m.vmin) || std::isnan(m.vmax))) lo = 0, hi = 1;
  if (lo < 0) {
    const double a = std::max(std::fabs(lo), std::fabs(hi));
    return {-a, a, &kBlueRed};
  }
  if (!(hi > lo)) lo -= 0.5, hi += 0.5;
  return {lo, hi, &kViridis};
}

// A cell's value printed inside it: short, since cells are small.
std::string cell_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, std::fabs(v) >= 100 ? "%.0f" : std::fabs(v) >= 10 ? "%.1f" : "%.2f", v);
  return buf;
}

void check_heatmap(const Heatmap& m) {
  const std::string shape = "(" + std::to_string(m.rows) + ", " + std::to_string(m.cols) + ")";
  DL_CHECK(m.rows > 0 && m.cols > 0, "plot", "heatmap '" + m.title + "' has shape " + shape);
  DL_CHECK(static_cast<int64_t>(m.values.size()) == m.rows * m.cols, "plot",
           "heatmap '" + m.title + "' of shape " + shape + " has " + std::to_string(m.values.size()) + " values");
  DL_CHECK(!(m.vmin >= m.vmax), "plot", "heatmap '" + m.title + "' has vmin >= vmax");
  DL_CHECK(m.row_labels.empty() || static_cast<int64_t>(m.row_labels.size()) == m.rows, "plot",
           "heatmap '" + m.title + "' of shape " + shape + " has " + std::to_string(m.row_labels.size()) + " row labels");
  DL_CHECK(m.col_labels.empty() || static_cast<int64_t>(m.col_labels.size()) == m.cols, "plot",
           "heatmap '" + m.title + "' of shape " + shape + " has " + std::to_string(m.col_labels.size()) + " column labels");
}

// Row or column labels, indices when none were given, cut to a dozen glyphs.
std::vector<std::string> labels_of(const std::vector<std::string>& given, int64_t n) {
  std::vector<std::string> out;
  for (int64_t i = 0; i < n; ++i) out.push_back(shorten(given.empty() ? std::to_string(i) : given[i], 12));
  return out;
}

// The bar, its ticks and, reading upwards beside the tick labels, its title.
void draw_colour_bar(Svg& svg, const ColourScale& scale, const Ticks& ticks, const Box& bar, const std::string& title) {
  const std::string id = "colours" + std::to_string(svg.next_id++);
  svg.out += "<defs><linearGradient id='" + id + "' x1='0' y1='1' x2='0' y2='0'>";
  for (size_t i = 0; i < scale.stops->size(); ++i)
    svg.out += "<stop offset='" + num(100.0 * i / (scale.stops->size() - 1)) + "%' stop-color='" +
               hex(rgb((*scale.stops)[i])) + "'/>";
  svg.out += "</linearGradient></defs>\n";
  svg.rect(bar.x, bar.y, bar.w, bar.h, "fill='url(#" + id + ")' stroke='#444' stroke-width='0.5'");
  for (size_t i = 0; i < ticks.at.size(); ++i) {
    const double y = bar.y + bar.h * (1 - (ticks.at[i] - scale.lo) / (scale.hi - scale.lo));
    svg.line(bar.x + bar.w, y, bar.x + bar.w + 4, y, "#444");
    svg.text(bar.x + bar.w + 7, y + 0.35 * kTickFont, ticks.labels[i], kTickFont, "start");
  }
  if (!title.empty())
    svg.vertical_text(bar.x + bar.w + 7 + widest(ticks.labels, kTickFont) + 6 + kTickFont / 2, bar.y + bar.h / 2,
                      fit(title, kTickFont, bar.h), kTickFont, "middle");
}

void draw_heatmap(Svg& svg, const Heatmap& m, double w, double h) {
  check_heatmap(m);
  const ColourScale scale = colour_scale(m);
  const Ticks bar_ticks = linear_ticks(scale.lo, scale.hi, 5, false);
  const auto rows = labels_of(m.row_labels, m.rows), cols = labels_of(m.col_labels, m.cols);
  const double font = 10, gap = 14;
  const double top = m.title.empty() ? 12 : 36;
  const double left = 8 + (m.y_label.empty() ? 0 : 20) + widest(rows, font) + 6;
  const double bar_w = 14 + 8 + widest(bar_ticks.labels, kTickFont) + 8 + (m.colour_label.empty() ? 0 : kTickFont + 6);
  const double room_w = w - left - gap - bar_w;
  const double x_label_h = m.x_label.empty() ? 4 : 22;
  // square cells as large as fit; column labels turn vertical when they do not fit across
  auto cell_for = [&](double labels_h) {
    return std::min(room_w / m.cols, (h - top - labels_h - x_label_h) / m.rows);
  };
  double cell = cell_for(font + 8);
  auto label_every = [&](double c) { return std::max<int64_t>(1, std::ceil((font + 2) / c)); };
  const bool vertical = widest(cols, font) + 4 > cell * label_every(cell);
  if (vertical) cell = cell_for(widest(cols, font) + 10);
  if (cell >= 4) cell = std::floor(cell);  // whole pixels: no seams between cells
  const int64_t every = label_every(cell);
  const double mw = cell * m.cols, mh = cell * m.rows;
  const double x0 = std::floor(left + (room_w - mw) / 2), y0 = top;

  svg.title(m.title, w);
  svg.out += "<g stroke='none'>\n";
  const bool annotate = cell >= 30 && cell >= text_width("-0.00", font) + 6;
  for (int64_t i = 0; i < m.rows; ++i)
    for (int64_t j = 0; j < m.cols; ++j) {
      const double v = m.values[i * m.cols + j];
      const Rgb c = scale(v);
      // the <title> is the tooltip a browser shows over the cell
      svg.out += "<rect class='cell' x='" + num(x0 + j * cell) + "' y='" + num(y0 + i * cell) + "' width='" +
                 num(cell) + "' height='" + num(cell) + "' fill='" + hex(c) + "'><title>" +
                 escape(rows[i] + ", " + cols[j] + ": " + short_g(v, 4)) + "</title></rect>\n";
      if (annotate && std::isfinite(v)) {
        const bool dark = 0.299 * c.r + 0.587 * c.g + 0.114 * c.b < 140;
        svg.text(x0 + (j + 0.5) * cell, y0 + (i + 0.5) * cell + 0.35 * font, cell_text(v), font, "middle",
                 dark ? " fill='white'" : " fill='#222'");
      }
    }
  svg.out += "</g>\n";
  for (int64_t i = 0; i < m.rows; i += every)
    svg.text(x0 - 5, y0 + (i + 0.5) * cell + 0.35 * font, rows[i], font, "end");
  for (int64_t j = 0; j < m.cols; j += every) {
    const double x = x0 + (j + 0.5) * cell;
    if (vertical) svg.vertical_text(x, y0 + mh + 5, cols[j], font, "end");
    else svg.text(x, y0 + mh + 5 + font, cols[j], font, "middle");
  }
  const double labels_h = vertical ? widest(cols, font) + 10 : font + 8;
  if (!m.x_label.empty())
    svg.text(x0 + mw / 2, y0 + mh + labels_h + 14, fit(m.x_label, kLabelFont, w - 8), kLabelFont, "middle");
  if (!m.y_label.empty())
    svg.vertical_text(x0 - widest(rows, font) - 17, y0 + mh / 2, fit(m.y_label, kLabelFont, std::max(mh, 60.0)),
                      kLabelFont, "middle");
  const double bar_h = std::min(std::max(mh, 80.0), h - top - 8);
  draw_colour_bar(svg, scale, bar_ticks, {x0 + mw + gap, y0, 14, bar_h}, m.colour_label);
}

}  // namespace

Heatmap heatmap(const Tensor& matrix, std::string title) {
  DL_CHECK(matrix.dim() == 2, "plot", "a heatmap needs a 2-D tensor, got " + shape_str(matrix.shape()));
  Heatmap m;
  m.title = std::move(title);
  m.rows = matrix.size(0), m.cols = matrix.size(1);
  m.values = matrix.to_vector();
  return m;
}

std::string to_svg(const Figure& figure) {
  const int n = static_cast<int>(figure.panels.size());
  DL_CHECK(n > 0, "plot", "figure '" + figure.title + "' has no panels");
  const int columns = figure.columns > 0 ? std::min(figure.columns, n) : static_cast<int>(std::ceil(std::sqrt(n)));
  const int rows = (n + columns - 1) / columns;
  const double pw = figure.panel_width, ph = figure.panel_height;
  const double head = figure.title.empty() ? 0 : 36;
  const std::string w = num(columns * pw), h = num(head + rows * ph);
  Svg svg;
  svg.out = "<?xml version='1.0' encoding='UTF-8'?>\n<svg xmlns='http://www.w3.org/2000/svg' width='" + w +
            "' height='" + h + "' viewBox='0 0 " + w + " " + h +
            "' font-family='DejaVu Sans, Arial, Helvetica, sans-serif'>\n<rect width='" + w + "' height='" + h +
            "' fill='white'/>\n";
  if (!figure.title.empty())
    svg.text(columns * pw / 2, 26, fit(figure.title, kFigureFont, columns * pw - 12), kFigureFont, "middle",
             " font-weight='bold'");
  for (int i = 0; i < n; ++i) {
    svg.out += "<g transform='translate(" + num(i % columns * pw) + " " + num(head + i / columns * ph) + ")'>\n";
    std::visit([&](const auto& panel) {
      if constexpr (std::is_same_v<std::decay_t<decltype(panel)>, LineChart>) draw_chart(svg, panel, pw, ph);
      else draw_heatmap(svg, panel, pw, ph);
    }, figure.panels[i]);
    svg.out += "</g>\n";
  }
  return svg.out + "</svg>\n";
}

std::string to_svg(const LineChart& chart) { return to_svg(Figure{"", {chart}, 1, 720, 440}); }

std::string to_svg(const Heatmap& map) { return to_svg(Figure{"", {map}, 1, 560, 480}); }

void save_svg(const std::string& path, const std::string& svg) { write_file_atomic(path, svg); }

}  // namespace dl::plot
