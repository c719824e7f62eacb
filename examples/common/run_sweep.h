// Sweeps: run_task repeated over training sizes x models x seeds, the results tabulated and
// plotted the way the papers' figures are.
#pragma once
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>
#include <nlohmann/json.hpp>
#include "examples/common/run_spec.h"

namespace dl::train {

struct SweepSpec {
  RunSpec base;                       // task, model sizes, epochs...; out is the sweep's folder
  std::vector<int64_t> train_sizes;   // e.g. 250, 500, 1000
  std::vector<std::string> models;    // model kinds, e.g. transformer, dat
  std::vector<uint64_t> seeds;
  bool resume = false;                // reuse a run whose summary.json exists
};

// Every (train size, model, seed) run in base.out/runs/<model>_n<size>_s<seed>, then in base.out:
// runs.csv (one row per run), results.csv and results.md (mean and standard deviation over seeds
// per model and size, test and held-out accuracy, and Welch's t-test p of each model against the
// transformer at the same size) and learning_curves.svg (accuracy against training size, one line
// per model, the spread shaded, the p in the legend). Returns the rows of results.csv.
nlohmann::json run_sweep(const SweepSpec& sweep, std::ostream& out, bool terminal);

}  // namespace dl::train
