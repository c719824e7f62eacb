#include "tests/testing.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>
#include <nlohmann/json.hpp>
#include "examples/common/cli.h"
#include "examples/common/progress.h"
#include "examples/common/run_dir.h"
#include "examples/common/svg.h"

using namespace dl;
using namespace dl::plot;
namespace fs = std::filesystem;

namespace {

// What is wrong with the XML in s, or "" when every tag is closed in order, every attribute
// quote is paired and every '&' starts an entity: enough to catch a broken SVG.
std::string xml_problem(const std::string& s) {
  std::vector<std::string> open;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '&') {
      const std::string rest = s.substr(i, 6);
      bool entity = false;
      for (const char* e : {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"}) entity |= rest.rfind(e, 0) == 0;
      if (!entity) return "bare '&' at " + std::to_string(i);
    }
    if (s[i] != '<') continue;
    const size_t end = s.find('>', i);
    if (end == std::string::npos) return "unterminated tag at " + std::to_string(i);
    const std::string tag = s.substr(i + 1, end - i - 1);
    i = end;
    if (std::count(tag.begin(), tag.end(), '\'') % 2 != 0) return "unpaired quote in <" + tag + ">";
    if (tag[0] == '?') continue;
    if (tag[0] == '/') {
      if (open.empty() || open.back() != tag.substr(1))
        return "</" + tag.substr(1) + "> closes <" + (open.empty() ? "" : open.back()) + ">";
      open.pop_back();
    } else if (tag.back() != '/') {
      open.push_back(tag.substr(0, tag.find_first_of(" \n")));
    }
  }
  return open.empty() ? "" : "<" + open.back() + "> never closed";
}

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
  return n;
}

bool has_text(const std::string& svg, const std::string& text) { return svg.find(">" + text + "</text>") != std::string::npos; }

std::string read(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A fresh folder under the system's temporary folder, removed at the end of the test.
struct TempFolder {
  fs::path path = fs::temp_directory_path() / ("dl_test_plots_" + std::to_string(getpid()));
  TempFolder() { fs::remove_all(path); }
  ~TempFolder() { fs::remove_all(path); }
};

Heatmap matrix(int64_t rows, int64_t cols, std::vector<double> values) {
  Heatmap m;
  m.rows = rows, m.cols = cols, m.values = std::move(values);
  return m;
}

}  // namespace

TEST_CASE("svg line chart: well-formed, with title, legend, ticks and escaped text", "[plots]") {
  LineChart chart{"loss <copy> & more", "epoch", "loss", {}, false};
  chart.series.push_back({"train", {1, 4, 7, 10}, {2, 1, 0.5, 0.25}, {0, 0.1, 0.1, 0.1}});
  chart.series.push_back({"val <held out>", {1, 4, 7, 10}, {1.9, 1.2, NAN, 0.4}, {}});
  const std::string svg = to_svg(chart);
  INFO(svg);
  REQUIRE(xml_problem(svg) == "");
  REQUIRE(svg.find("<svg xmlns='http://www.w3.org/2000/svg'") != std::string::npos);
  REQUIRE(svg.find("viewBox='0 0 720 440'") != std::string::npos);
  REQUIRE(has_text(svg, "loss &lt;copy&gt; &amp; more"));
  REQUIRE(svg.find("<copy>") == std::string::npos);
  REQUIRE(has_text(svg, "train"));
  REQUIRE(has_text(svg, "val &lt;held out&gt;"));
  REQUIRE(has_text(svg, "epoch"));
  // y grows from 0.15..2 to whole ticks of 0.2; x keeps the data range, ticks of 1
  for (const char* tick : {"0.0", "0.2", "1.0", "2.0", "1", "5", "10"}) {
    INFO("tick " << tick);
    REQUIRE(has_text(svg, tick));
  }
  REQUIRE_FALSE(has_text(svg, "2.2"));
  REQUIRE(count(svg, "<polygon") == 1);   // the band
  REQUIRE(count(svg, "<polyline") == 2);  // the NaN splits "val" into a line and a lone point
}

TEST_CASE("svg line chart: log x ticks at powers of ten, skipping x <= 0", "[plots]") {
  LineChart chart{"lr sweep", "learning rate", "loss", {{"", {0, 1e-4, 1e-3, 1e-2, 1e-1}, {9, 3, 2, 1, 4}, {}}}, true};
  const std::string svg = to_svg(chart);
  REQUIRE(xml_problem(svg) == "");
  for (const char* tick : {"0.0001", "0.001", "0.01", "0.1"}) REQUIRE(has_text(svg, tick));
  REQUIRE_FALSE(has_text(svg, "9"));  // the point at x = 0 has no place on a log axis
  REQUIRE(count(svg, "<circle") == 4);
}

TEST_CASE("svg line chart: whole-number epoch ticks; a sweep's sizes labelled on a log axis", "[plots]") {
  LineChart epochs{"loss", "epoch", "loss", {{"train", {1, 2, 3}, {0.9, 0.5, 0.4}, {}}}, false};
  const std::string svg = to_svg(epochs);
  INFO(svg);
  for (const char* tick : {"1", "2", "3"}) REQUIRE(has_text(svg, tick));
  REQUIRE_FALSE(has_text(svg, "1.5"));  // no half epochs
  REQUIRE_FALSE(has_text(svg, "2.5"));

  LineChart sizes{"test accuracy", "training examples", "accuracy", {{"dat", {250, 1000, 2500, 10000, 1000000},
                                                                      {0.6, 0.7, 0.8, 0.9, 0.95}, {}}}, true};
  const std::string sweep = to_svg(sizes);
  INFO(sweep);
  REQUIRE(xml_problem(sweep) == "");
  for (const char* tick : {"250", "1k", "2.5k", "10k", "1M"}) {
    INFO("tick " << tick);
    REQUIRE(has_text(sweep, tick));
  }
  // many sizes: back to powers of ten, still as counts
  LineChart dense = sizes;
  dense.series[0].x.clear(), dense.series[0].y.clear();
  for (double x = 100; x <= 1e6; x *= 1.5) dense.series[0].x.push_back(x), dense.series[0].y.push_back(0.5);
  const std::string many = to_svg(dense);
  for (const char* tick : {"100", "1k", "10k", "100k"}) {
    INFO("tick " << tick);
    REQUIRE(has_text(many, tick));
  }
  REQUIRE_FALSE(has_text(many, "150"));  // the second data point: not a tick
}

TEST_CASE("svg heatmap: the colour bar has a title", "[plots]") {
  Heatmap m = matrix(2, 2, {0, 0.5, 0.25, 1});
  REQUIRE(has_text(to_svg(m), "value"));  // the default
  m.colour_label = "attention weight";
  const std::string svg = to_svg(m);
  REQUIRE(xml_problem(svg) == "");
  REQUIRE(has_text(svg, "attention weight"));
  REQUIRE(svg.find("rotate(-90") != std::string::npos);
}

TEST_CASE("svg heatmap: one cell per entry, labels, sequential colours for data >= 0", "[plots]") {
  Heatmap m = matrix(2, 3, {0, 0.2, 0.4, 0.6, 0.8, 1});
  m.title = "attention";
  m.row_labels = {"q<0>", "q1"};
  m.col_labels = {"k0", "k&1", "k2"};
  const std::string svg = to_svg(m);
  INFO(svg);
  REQUIRE(xml_problem(svg) == "");
  REQUIRE(count(svg, "class='cell'") == 6);
  REQUIRE(has_text(svg, "attention"));
  REQUIRE(has_text(svg, "q&lt;0&gt;"));
  REQUIRE(has_text(svg, "k&amp;1"));
  // viridis: the smallest value darkest, the largest yellow; no white middle
  REQUIRE(count(svg, "fill='#440154'") == 1);
  REQUIRE(count(svg, "fill='#fde725'") == 1);
  REQUIRE(count(svg, "#f7f7f7") == 0);
  // colour bar ticks
  for (const char* tick : {"0.0", "0.2", "1.0"}) REQUIRE(has_text(svg, tick));
}

TEST_CASE("svg heatmap: diverging colours centred on 0 when the data has negative values", "[plots]") {
  const std::string svg = to_svg(matrix(2, 2, {-2, 0, 1, NAN}));
  INFO(svg);
  REQUIRE(xml_problem(svg) == "");
  REQUIRE(count(svg, "class='cell'") == 4);
  // symmetric scale [-2, 2]: -2 the darkest blue, 0 white, NaN grey
  REQUIRE(count(svg, "fill='#2166ac'") == 1);
  REQUIRE(count(svg, "fill='#f7f7f7'") == 1);
  REQUIRE(count(svg, "fill='#d0d0d0'") == 1);
  REQUIRE(has_text(svg, "-2"));
  REQUIRE(has_text(svg, "2"));
  REQUIRE(svg.find("stop-color='#b2182b'") != std::string::npos);
  REQUIRE(svg.find("#440154") == std::string::npos);
}

TEST_CASE("svg figure: a grid of panels with their titles", "[plots]") {
  Heatmap a = matrix(2, 2, {1, 2, 3, 4}), b = matrix(2, 2, {-1, 1, 0, 0});
  a.title = "head 0", b.title = "head 1";
  LineChart c{"curve", "", "", {{"s", {0, 1}, {0, 1}, {}}}, false};
  const std::string svg = to_svg(Figure{"layer 1", {a, b, c}, 2, 300, 250});
  REQUIRE(xml_problem(svg) == "");
  REQUIRE(svg.find("viewBox='0 0 600 536'") != std::string::npos);  // 2 x 2 panels under a title
  REQUIRE(count(svg, "<g transform='translate(") == 3);
  for (const char* title : {"layer 1", "head 0", "head 1", "curve"}) REQUIRE(has_text(svg, title));
  // each colour bar refers to its own gradient
  REQUIRE(count(svg, "id='colours0'") == 1);
  REQUIRE(count(svg, "id='colours1'") == 1);
}

TEST_CASE("svg: bad inputs and unwritable paths are errors naming the problem", "[plots]") {
  REQUIRE_THROWS_WITH(to_svg(matrix(2, 3, {1, 2, 3})),
                      Catch::Contains("plot") && Catch::Contains("(2, 3)") && Catch::Contains("3 values"));
  LineChart bad{"t", "", "", {{"s", {1, 2}, {1}, {}}}, false};
  REQUIRE_THROWS_WITH(to_svg(bad), Catch::Contains("plot") && Catch::Contains("'s'"));
  REQUIRE_THROWS_WITH(heatmap(Tensor::zeros({2, 3, 4})), Catch::Contains("plot") && Catch::Contains("(2, 3, 4)"));
  Heatmap h = heatmap(Tensor::from_vector({1, 2, 3, 4, 5, 6}, {3, 2}), "t");
  REQUIRE(h.rows == 3);
  REQUIRE(h.values == std::vector<double>{1, 2, 3, 4, 5, 6});

  TempFolder tmp;
  fs::create_directories(tmp.path);
  const fs::path file = tmp.path / "a_file";
  std::ofstream(file) << "x";
  const std::string under_file = (file / "plot.svg").string();
  REQUIRE_THROWS_WITH(save_svg(under_file, to_svg(h)),
                      Catch::Contains("cannot write '" + under_file + "'") && Catch::Contains("Not a directory"));
  save_svg((tmp.path / "ok.svg").string(), to_svg(h));
  REQUIRE(read(tmp.path / "ok.svg") == to_svg(h));
}

TEST_CASE("run_dir: refuses a folder it cannot create, with the folder's name", "[plots]") {
  REQUIRE_THROWS_WITH(RunDir("/proc/version/run"), Catch::Contains("run_dir") && Catch::Contains("/proc/version/run"));
  TempFolder tmp;
  fs::create_directories(tmp.path);
  std::ofstream(tmp.path / "file") << "x";
  const std::string folder = (tmp.path / "file" / "run").string();
  REQUIRE_THROWS_WITH(RunDir(folder), Catch::Contains("run_dir") && Catch::Contains(folder));
  REQUIRE_THROWS_WITH(RunDir((tmp.path / "file").string()), Catch::Contains("file"));
}

TEST_CASE("run_dir: metrics.csv rows, JSON files written whole", "[plots]") {
  TempFolder tmp;
  const fs::path folder = tmp.path / "a" / "b";
  {
    RunDir run(folder.string());
    REQUIRE(fs::is_directory(folder));
    REQUIRE_FALSE(fs::exists(folder / ".write_probe"));  // the probe is gone (.lock stays: the run holds it)
    run.append_metrics({{"epoch", 1}, {"loss", 0.5}, {"accuracy", 0.125}});
    REQUIRE(read(folder / "metrics.csv") == "epoch,loss,accuracy\n1,0.5,0.125\n");  // on disk after each row
    run.append_metrics({{"epoch", 2}, {"loss", 1.0 / 3}, {"accuracy", 1}});
    REQUIRE(read(folder / "metrics.csv") == "epoch,loss,accuracy\n1,0.5,0.125\n2,0.333333333,1\n");
    REQUIRE_THROWS_WITH(run.append_metrics({{"epoch", 3}, {"acc", 1}}),
                        Catch::Contains("run_dir") && Catch::Contains("'acc'"));
    run.write_json("config.json", {{"seed", 3}, {"model", "daGPAM"}});
    run.write_json("config.json", {{"seed", 4}});
    REQUIRE(nlohmann::json::parse(read(folder / "config.json")) == nlohmann::json{{"seed", 4}});
    REQUIRE_FALSE(fs::exists(folder / "config.json.tmp"));
  }
  RunDir again(folder.string());  // a new run in the same folder starts a new metrics.csv
  again.append_metrics({{"step", 10}});
  REQUIRE(read(folder / "metrics.csv") == "step\n10\n");
}

TEST_CASE("progress: plain mode prints one line per epoch and per message", "[plots]") {
  std::ostringstream out;
  double now = 0;
  Progress progress(out, false, 2, 4, [&] { return now; });
  progress.start_epoch();
  for (int i = 0; i < 4; ++i) {
    now += 0.5;
    progress.step(i % 2 ? 2.0 : 1.0, i % 2);
  }
  REQUIRE(out.str().empty());  // steps alone never write into a pipe
  progress.end_epoch("val acc 75.0%");
  progress.log_line("saved attention.svg");
  REQUIRE(out.str() ==
          "epoch 1/2  step 4/4  loss 1.5  acc 50.0%  2 steps/s  0:02 elapsed  0:02 left  val acc 75.0%\n"
          "saved attention.svg\n");
  out.str("");
  progress.start_epoch();
  for (int i = 0; i < 4; ++i) now += 1, progress.step(0.25);
  progress.end_epoch();
  REQUIRE(out.str() == "epoch 2/2  step 4/4  loss 0.25  1 steps/s  0:06 elapsed  0:00 left\n");
}

TEST_CASE("progress: terminal mode redraws one line, at most ten times a second", "[plots]") {
  std::ostringstream out;
  double now = 0;
  {
    Progress progress(out, true, 1, 100, [&] { return now; });
    progress.start_epoch();
    for (int i = 0; i < 4; ++i) now += 0.06, progress.step(1.0, 1.0);  // drawn at 0.06 and 0.18
    REQUIRE(count(out.str(), "\r") == 2);
    REQUIRE(count(out.str(), "\n") == 0);
    REQUIRE(out.str().find("\repoch 1/1  step 3/100  loss 1  acc 100.0%") != std::string::npos);
    progress.log_line("hello");  // clears the bar, prints, redraws the bar below
    REQUIRE(out.str().find("\r\033[Khello\n\repoch 1/1  step 4/100") != std::string::npos);
    now += 1, progress.step(1.0, 1.0);
  }
  REQUIRE(out.str().back() == '\n');  // the destructor ends the half-drawn line
}

TEST_CASE("progress: the terminal line fits the width, dropping the least useful fields first", "[plots]") {
  double now = 0;
  const auto line_at = [&](int width, double loss) {
    std::ostringstream out;
    Progress progress(out, true, 10, 1000, [&] { return now; }, width);
    progress.start_epoch();
    now += 1, progress.step(loss, 0.5);
    const std::string s = out.str();
    return s.substr(1, s.find("\033[K") - 1);  // between "\r" and the clear-to-end
  };
  const std::string wide = line_at(200, 0.693);
  REQUIRE(wide == "epoch 1/10  step 1/1000  loss 0.693  acc 50.0%  1 steps/s  0:01 elapsed  2:46:39 left");
  REQUIRE(line_at(86, 0.693) == wide);  // 85 characters: fits in 86 columns, would wrap at 80
  REQUIRE(line_at(80, 0.693) == "epoch 1/10  step 1/1000  loss 0.693  acc 50.0%  1 steps/s  2:46:39 left");
  REQUIRE(line_at(61, 0.693) == "epoch 1/10  step 1/1000  loss 0.693  acc 50.0%  2:46:39 left");
  REQUIRE(line_at(60, 0.693) == "epoch 1/10  step 1/1000  loss 0.693  acc 50.0%");  // 60 would fill the row
  REQUIRE(line_at(50, 0.693) == "epoch 1/10  step 1/1000  loss 0.693  acc 50.0%");
  REQUIRE(line_at(20, 0.693) == "epoch 1/10  step 1/");  // cut: never wider than width - 1
  // a diverging loss in %g, not 2629571039103316656128.0000
  REQUIRE(line_at(200, 2629571039103316656128.0).find("loss 2.63e+21  ") != std::string::npos);
  REQUIRE(short_number(NAN) == "nan");

  // end_epoch's line, extra included, fits too; into a pipe every field is kept
  std::ostringstream out;
  Progress progress(out, true, 1, 4, [&] { return now; }, 40);
  progress.start_epoch();
  progress.step(1.0);
  progress.end_epoch("val acc 75.0%");
  const std::string last = out.str().substr(out.str().rfind('\r') + 1);
  REQUIRE(last == "epoch 1/1  step 1/4  loss 1  val acc 75\033[K\n");  // 39 columns
  setenv("COLUMNS", "123", 1);
  if (!isatty(STDOUT_FILENO)) REQUIRE(Progress::terminal_width() == 123);
  unsetenv("COLUMNS");
  if (!isatty(STDOUT_FILENO)) REQUIRE(Progress::terminal_width() == 80);
}

TEST_CASE("cli: common flags, bad values rejected, flags as JSON", "[plots]") {
  CLI::App app("test");
  cli::CommonFlags flags;
  flags.out = "runs/copy";
  double lr = 0.001;
  bool verbose = false;
  cli::add_common_flags(app, flags);
  app.add_option("--lr", lr, "learning rate")->capture_default_str();
  app.add_flag("--verbose", verbose, "talk more");
  app.parse("--seed 7 --epochs 3 --verbose");
  REQUIRE(flags.seed == 7);
  REQUIRE(flags.epochs == 3);
  const nlohmann::json j = cli::flags_json(app);
  INFO(j.dump());
  REQUIRE(j == nlohmann::json{{"seed", 7}, {"threads", 0}, {"epochs", 3}, {"out", "runs/copy"}, {"lr", 0.001},
                              {"verbose", true}});
  CLI::App strict("test");
  cli::CommonFlags f2;
  cli::add_common_flags(strict, f2);
  REQUIRE_THROWS_AS(strict.parse("--epochs 0"), CLI::ValidationError);
}
