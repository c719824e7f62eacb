// Trains a classifier (Transformer, DAT or daGPAM attention) on one of the classification toy tasks
// (docs/tasks.md): the relational games, pairwise_order or set. Defaults are the DAT paper's
// relational-games set-up: 2 layers, d 128, d_ff 256 SwiGLU, pre-LN, dropout 0.1, learned
// positions, mean pooling + MLP; Adam lr 1e-3, betas (0.9, 0.99), batch 512, 50 epochs.
//
//   build/bin/train_classifier --task occurs --model dat --train-size 1000 --out runs/occurs_dat
//
// The run folder gets config.json, metrics.csv, checkpoint.safetensors (best validation epoch),
// summary.json, learning_curves.svg and attention_<i>.svg (examples/common/train.h).
#include <iostream>
#include "examples/common/progress.h"
#include "examples/common/train.h"

int main(int argc, char** argv) {
  dl::train::RunSpec spec = dl::train::family_defaults("occurs");
  spec.common.out = "runs/classifier";
  CLI::App app("Train a Transformer, DAT or daGPAM classifier on a relational toy task.");
  dl::train::add_run_flags(app, spec, {"same", "between", "occurs", "xoccurs", "match_pattern", "pairwise_order", "set"});
  dl::cli::parse_or_exit(app, spec.common, argc, argv);
  return dl::train::guarded([&] {
    dl::train::adopt_resumed_run(app, spec);
    dl::train::run_task(spec, std::cout, dl::Progress::stdout_is_terminal());
  }, std::cerr);
}
