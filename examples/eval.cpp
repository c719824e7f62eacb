// Tests a trained model from its checkpoint alone: the checkpoint stores the run (task, sizes,
// seed, model, batch) and the input scaling, so the test and held-out sets are regenerated
// exactly and the figures equal the run's summary.json.
//
//   build/bin/eval --load runs/occurs_dat/checkpoint.safetensors
//
// Any run flag may be given too, but only with the stored value: a contradicting one (e.g.
// --task same for an occurs run) is an error naming both values.
#include <iostream>
#include "examples/common/tasks.h"
#include "examples/common/train.h"

int main(int argc, char** argv) {
  using namespace dl::train;
  RunSpec spec;
  CLI::App app("Test a trained model from its checkpoint; prints the test and held-out accuracies.");
  add_run_flags(app, spec, dl::tasks::task_names());
  for (const char* flag : {"--eval-only", "--resume", "--overwrite", "--pictures", "--out", "--epochs"})
    app.remove_option(app.get_option(flag));
  app.get_option("--load")->required()->description("the checkpoint of a run (its checkpoint.safetensors)");
  dl::cli::parse_or_exit(app, spec.common, argc, argv);
  return guarded([&] {
    LoadedRun run = load_run(app, spec, spec.load);
    std::cout << run.spec.task << ", " << run.spec.model.str() << ", trained on " << run.data.train.size()
              << " examples (seed " << run.spec.common.seed << ")\n";
    std::cout << evaluate_run(run, std::cout).dump() << "\n";
  }, std::cerr);
}
