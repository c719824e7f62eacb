// Training and evaluation for the toy-task programs (train_classifier, train_seq2seq, sweep, demo).
//
// The layers, each used by the one above (one file each):
//   fit.h                the one epoch loop: shuffled mini-batches, Adam, validation after every
//                        epoch, the best epoch's weights kept. What differs between model families
//                        is an Objective: the loss and accuracy of a batch.
//   objectives.h         classification (cross-entropy, accuracy of the argmax) and seq2seq
//                        (teacher forcing for the loss; full-sequence accuracy of greedy decoding).
//   attention_pictures.h learning curves and attention heatmaps.
//   run_spec.h           a run by its flags (RunSpec) and the flags that set it.
//   this file            run_task(): a whole run from a RunSpec: builds the task's data and the
//                        model its flags name, trains, tests, and leaves a run folder:
//                          config.json       the spec and the full model config
//                          metrics.csv       one row per epoch
//                          checkpoint.safetensors   the best epoch's model (models/checkpoint.h)
//                          summary.json      the final figures (see run_task)
//                          learning_curves.svg, attention_<i>.svg   pictures
//   run_sweep.h          run_task repeated over training sizes x models x seeds, tabulated.
#pragma once
#include <functional>
#include <map>
#include <ostream>
#include <string>
#include <vector>
#include <nlohmann/json.hpp>
#include "examples/common/run_spec.h"

namespace dl::train {

// Runs a spec: checks the folder, the flags and the sizes first (a dl::Error naming the problem
// before any training), then trains and tests, printing progress to out (a redrawn bar when
// terminal). Returns summary.json: task, model, model_spec, train_size, val_size, test_size,
// seed, epochs, best_epoch, best_val_accuracy, test_accuracy, test_loss, heldout_accuracy
// {name: accuracy} (empty without held-out sets), parameters, threads, wall_seconds, folder.
nlohmann::json run_task(const RunSpec& spec, std::ostream& out, bool terminal);

// With spec.resume: takes the run stored in spec.common.out's last.safetensors, so --resume needs
// no other flag; a given flag that contradicts it is a dl::Error naming both values (--epochs may
// differ: training continues to the new count). Call after parsing, inside guarded().
void adopt_resumed_run(const CLI::App& app, RunSpec& spec);

// A finished run rebuilt from its checkpoint alone: the stored spec (a flag given on app's
// command line must agree with it: adopt_stored_run), its data regenerated from the stored seed
// and sizes, and scaled with the stored input scaling.
struct LoadedRun {
  std::string path;
  std::map<std::string, std::string> metadata;
  RunSpec spec;
  tasks::TaskData data;
};
LoadedRun load_run(const CLI::App& app, RunSpec spec, const std::string& checkpoint);

// The loaded run's model tested as run_task tests it (printed to out): test_accuracy, test_loss
// and heldout_accuracy {name: accuracy}, equal to the run's summary.json.
nlohmann::json evaluate_run(LoadedRun& run, std::ostream& out);

// ---------------------------------------------------------------- programs

// What a program's main does after parsing: body(), or on a dl::Error (or any std::exception)
// "error: <message>" on err and exit code 1.
int guarded(const std::function<void()>& body, std::ostream& err);

// "model      test   hexomino  stripes" table of run summaries, one row each.
std::string comparison_table(const std::vector<nlohmann::json>& summaries);

}  // namespace dl::train
