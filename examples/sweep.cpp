// The experiment runner: trains every (training size, model, seed) of one task in this process
// and compares the models the way the papers' figures do.
//
//   build/bin/sweep --task occurs --sizes 250,500,1000,2500 --models transformer,dat --seeds 0,1,2
//   build/bin/sweep --task sorting --sizes 500,1000,1500,2000,2500 --epochs 100 --out runs/sweep_sorting
//
// Each run keeps its own folder (<out>/runs/<model>_n<size>_s<seed>/, as train_classifier or
// train_seq2seq would write it); <out> gets runs.csv, results.csv and results.md (mean +- std
// over seeds per model and size, test and held-out accuracy) and learning_curves.svg. With
// --resume, runs whose summary.json exists are read instead of trained again.
#include <iostream>
#include "examples/common/progress.h"
#include "examples/common/tasks.h"
#include "examples/common/run_sweep.h"
#include "examples/common/train.h"

int main(int argc, char** argv) {
  using namespace dl::train;
  SweepSpec sweep;
  sweep.base.pictures = 1;
  sweep.base.common.out = "runs/sweep";
  sweep.train_sizes = {250, 500, 1000, 1500, 2000, 2500};
  sweep.models = {"transformer", "dat"};
  sweep.seeds = {0, 1, 2};
  CLI::App app("Train models over training sizes and seeds on one task; tabulate and plot accuracy.");
  add_run_flags(app, sweep.base, dl::tasks::task_names());
  for (const char* flag : {"--model", "--train-size", "--seed", "--load", "--eval-only", "--resume"})
    app.remove_option(app.get_option(flag));
  app.add_option("--sizes", sweep.train_sizes, "training sizes")->delimiter(',')->capture_default_str()
      ->check(dl::cli::Positive);
  app.add_option("--models", sweep.models, "model kinds")->delimiter(',')->capture_default_str()
      ->check(CLI::IsMember(dl::model_names()));
  app.add_option("--seeds", sweep.seeds, "seeds")->delimiter(',')->capture_default_str();
  app.add_flag("--resume", sweep.resume, "reuse finished runs (their summary.json) instead of training again");
  dl::cli::parse_or_exit(app, sweep.base.common, argc, argv);
  apply_family_defaults(app, sweep.base);
  return guarded([&] { run_sweep(sweep, std::cout, dl::Progress::stdout_is_terminal()); }, std::cerr);
}
