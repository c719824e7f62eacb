#include "examples/common/run_sweep.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include "examples/common/format.h"
#include "examples/common/run_dir.h"
#include "examples/common/stats.h"
#include "examples/common/svg.h"
#include "examples/common/train.h"

namespace dl::train {

using json = nlohmann::json;

namespace {

json read_json(const std::string& path) {
  std::ifstream in(path);
  try {
    return json::parse(in);
  } catch (const json::exception& e) {
    throw Error("sweep: cannot read '" + path + "': " + e.what());
  }
}

std::string csv_number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

// A run's accuracy on `set`: "test" or the name of a held-out set.
double accuracy_on(const json& run, const std::string& set) {
  return set == "test" ? run.at("test_accuracy").get<double>() : run.at("heldout_accuracy").at(set).get<double>();
}

// The model every other is tested against, when the sweep has it.
constexpr const char* kBaseline = "transformer";

bool has_p(const SweepSpec& sweep, const std::string& model) {
  return model != kBaseline &&
         std::find(sweep.models.begin(), sweep.models.end(), kBaseline) != sweep.models.end();
}

// Each seed's accuracy on `set` of the runs of model at training size n.
std::vector<double> accuracies(const std::vector<json>& runs, const std::string& model, int64_t n,
                               const std::string& set) {
  std::vector<double> values;
  for (const json& r : runs)
    if (r.at("model") == model && r.at("train_size") == n) values.push_back(accuracy_on(r, set));
  return values;
}

// One row of results.csv per (model, train size): mean and std over seeds of each accuracy and,
// for a model other than the baseline, Welch's p against the baseline at the same size.
json aggregate(const std::vector<json>& runs, const SweepSpec& sweep, const std::vector<std::string>& sets) {
  json rows = json::array();
  for (const std::string& model : sweep.models)
    for (int64_t n : sweep.train_sizes) {
      json row = {{"model", model}, {"train_size", n}};
      for (const std::string& set : sets) {
        const std::vector<double> values = accuracies(runs, model, n, set);
        const stats::MeanStd s = stats::mean_std(values);
        row["seeds"] = values.size();
        row[set + "_mean"] = s.mean;
        row[set + "_std"] = s.std;
        const double p = has_p(sweep, model) ? stats::welch_p(values, accuracies(runs, kBaseline, n, set)) : NAN;
        row[set + "_p"] = std::isnan(p) ? json() : json(p);  // null: no test (the baseline, or one seed)
      }
      rows.push_back(row);
    }
  return rows;
}

double p_of(const json& row, const std::string& set) {
  const json& p = row.at(set + "_p");
  return p.is_null() ? NAN : p.get<double>();
}

// "transformer" or "dat (p .012)": a legend entry of the test panel, with the p at each size.
std::string legend(const std::string& model, const json& rows, const std::string& set, const SweepSpec& sweep) {
  if (!has_p(sweep, model)) return model;
  std::string ps;
  for (const json& row : rows)
    if (row["model"] == model) ps += (ps.empty() ? "" : ", ") + p_value(p_of(row, set));
  return model + " (p " + ps + ")";
}

void write_results(const RunDir& dir, const json& rows, const std::vector<json>& runs, const SweepSpec& sweep,
                   const std::vector<std::string>& sets) {
  std::string csv = "task,model,train_size,seed";
  for (const std::string& set : sets) csv += "," + set + "_accuracy";
  csv += ",best_epoch,wall_seconds\n";
  for (const json& r : runs) {
    csv += r.at("task").get<std::string>() + "," + r.at("model").get<std::string>() + "," +
           std::to_string(r.at("train_size").get<int64_t>()) + "," + std::to_string(r.at("seed").get<uint64_t>());
    for (const std::string& set : sets) csv += "," + csv_number(accuracy_on(r, set));
    csv += "," + std::to_string(r.at("best_epoch").get<int>()) + "," + csv_number(r.at("wall_seconds")) + "\n";
  }
  write_file_atomic(dir.file("runs.csv"), csv);

  std::string results = "model,train_size,seeds", md_head = "| model | train size | seeds |", md_rule = "|---|---:|---:|";
  for (const std::string& set : sets) {
    results += "," + set + "_mean," + set + "_std," + set + "_p";
    md_head += " " + set + " accuracy |";
    md_rule += "---:|";
  }
  std::string md = "# " + sweep.base.task + ": accuracy, mean +- std over seeds\n\n";
  if (std::any_of(sweep.models.begin(), sweep.models.end(), [&](const std::string& m) { return has_p(sweep, m); }))
    md += std::string("p: Welch's t-test (two-sided) against the ") + kBaseline + " at the same training size.\n\n";
  md += md_head + "\n" + md_rule + "\n";
  results += "\n";
  for (const json& row : rows) {
    results += row["model"].get<std::string>() + "," + std::to_string(row["train_size"].get<int64_t>()) + "," +
               std::to_string(row["seeds"].get<size_t>());
    md += "| " + row["model"].get<std::string>() + " | " + std::to_string(row["train_size"].get<int64_t>()) + " | " +
          std::to_string(row["seeds"].get<size_t>()) + " |";
    for (const std::string& set : sets) {
      const double p = p_of(row, set);
      results += "," + csv_number(row[set + "_mean"]) + "," + csv_number(row[set + "_std"]) + "," +
                 (std::isnan(p) ? "" : csv_number(p));
      md += " " + fixed(row[set + "_mean"]) + " +- " + fixed(row[set + "_std"]) +
            (has_p(sweep, row["model"]) ? " (p " + p_value(p) + ")" : "") + " |";
    }
    results += "\n";
    md += "\n";
  }
  write_file_atomic(dir.file("results.csv"), results);
  write_file_atomic(dir.file("results.md"), md);

  std::vector<plot::Panel> panels;
  for (const std::string& set : sets) {
    plot::LineChart chart{set == "test" ? "test (in distribution)" : "held out: " + set, "training examples",
                          "accuracy", {}, true};
    for (const std::string& model : sweep.models) {
      plot::Series s{legend(model, rows, set, sweep), {}, {}, {}};
      for (const json& row : rows)
        if (row["model"] == model) {
          s.x.push_back(row["train_size"].get<double>());
          s.y.push_back(row[set + "_mean"].get<double>());
          s.spread.push_back(row[set + "_std"].get<double>());
        }
      chart.series.push_back(s);
    }
    panels.push_back(chart);
  }
  const std::string title = sweep.base.task + ": accuracy against training size (mean, shaded +- std over " +
                            std::to_string(sweep.seeds.size()) + " seeds)";
  plot::save_svg(dir.file("learning_curves.svg"),
                 plot::to_svg(plot::Figure{title, panels, static_cast<int>(std::min<size_t>(panels.size(), 3))}));
}

}  // namespace

json run_sweep(const SweepSpec& sweep, std::ostream& out, bool terminal) {
  DL_CHECK(!sweep.train_sizes.empty() && !sweep.models.empty() && !sweep.seeds.empty(), "sweep",
           "need at least one training size, model and seed");
  RunDir dir(sweep.base.common.out);
  const size_t total = sweep.train_sizes.size() * sweep.models.size() * sweep.seeds.size();
  std::vector<json> runs;
  for (int64_t n : sweep.train_sizes)
    for (const std::string& model : sweep.models)
      for (uint64_t seed : sweep.seeds) {
        RunSpec spec = sweep.base;
        spec.sizes.train = n;
        spec.model.kind = model;
        spec.common.seed = seed;
        spec.common.out = dir.file("runs/" + model + "_n" + std::to_string(n) + "_s" + std::to_string(seed));
        out << "\n== run " << runs.size() + 1 << "/" << total << ": " << model << ", " << n
            << " training examples, seed " << seed << "\n";
        const std::string summary = spec.common.out + "/summary.json";
        if (sweep.resume && std::filesystem::exists(summary)) {
          runs.push_back(read_json(summary));
          DL_CHECK(runs.back().value("task", "") == spec.task, "sweep",
                   summary + " is a run of another task; give the sweep its own --out");
          out << "done before: test accuracy " << percent(runs.back()["test_accuracy"].get<double>()) << "\n";
        } else {
          spec.overwrite = spec.overwrite || sweep.resume;  // a run that did not finish is trained again
          runs.push_back(run_task(spec, out, terminal));
        }
      }
  std::vector<std::string> sets = {"test"};
  for (const auto& item : runs.front()["heldout_accuracy"].items()) sets.push_back(item.key());
  const json rows = aggregate(runs, sweep, sets);
  write_results(dir, rows, runs, sweep, sets);
  std::ifstream md(dir.file("results.md"));
  out << "\n" << md.rdbuf() << "\nwrote " << dir.folder() << "/: results.csv, results.md, runs.csv, learning_curves.svg, runs/\n";
  return rows;
}

}  // namespace dl::train
