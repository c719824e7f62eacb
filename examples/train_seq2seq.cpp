// Trains an encoder-decoder (Transformer, DAT or daGPAM self-attention) on a sequence toy task
// (docs/tasks.md): object sorting (the argsort of 10 objects), copy or reverse. Loss with teacher
// forcing; accuracy is full-sequence accuracy of greedy decoding (every position right).
// Defaults: 2 + 2 layers, d 64, d_ff 128 SwiGLU, dropout 0.1; Adam lr 1e-3, betas (0.9, 0.99),
// batch 128, 100 epochs; 1000 / 1000 / 2000 examples.
//
//   build/bin/train_seq2seq --task sorting --model dat --train-size 1000 --out runs/sorting_dat
//
// The run folder gets config.json, metrics.csv, checkpoint.safetensors (best validation epoch),
// summary.json, learning_curves.svg and attention_<i>[_decoder].svg (examples/common/train.h).
#include <iostream>
#include "examples/common/progress.h"
#include "examples/common/train.h"

int main(int argc, char** argv) {
  dl::train::RunSpec spec = dl::train::family_defaults("sorting");  // d 64, d_ff 128, batch 128, 100 epochs
  spec.common.out = "runs/seq2seq";
  CLI::App app("Train a Transformer, DAT or daGPAM encoder-decoder on a sequence toy task.");
  dl::train::add_run_flags(app, spec, {"sorting", "copy", "reverse"});
  dl::cli::parse_or_exit(app, spec.common, argc, argv);
  return dl::train::guarded([&] {
    dl::train::adopt_resumed_run(app, spec);
    dl::train::run_task(spec, std::cout, dl::Progress::stdout_is_terminal());
  }, std::cerr);
}
