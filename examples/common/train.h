// Training and evaluation for the toy-task programs (train_classifier, train_seq2seq, sweep, demo).
//
// Three layers, each used by the one above:
//   fit()        the one epoch loop: shuffled mini-batches, Adam, validation after every epoch,
//                the best epoch's weights kept (and restored at the end). What differs between
//                model families is an Objective: the loss and accuracy of a batch.
//   Objectives   classification (cross-entropy, accuracy of the argmax) and seq2seq (teacher
//                forcing for the loss; full-sequence accuracy of greedy decoding for evaluation).
//   run_task()   a whole run from a RunSpec: builds the task's data and the model its flags name,
//                trains, tests, and leaves a run folder:
//                  config.json       the spec and the full model config
//                  metrics.csv       one row per epoch
//                  checkpoint.safetensors   the best epoch's model (models/checkpoint.h)
//                  summary.json      the final figures (see run_task)
//                  learning_curves.svg, attention_<i>.svg   pictures
// run_sweep() repeats run_task over training sizes x models x seeds and tabulates the results.
#pragma once
#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>
#include <nlohmann/json.hpp>
#include "examples/common/cli.h"
#include "examples/common/dataset.h"
#include "models/config.h"
#include "nn/module.h"

namespace dl {
class Progress;
}

namespace dl::train {

// ---------------------------------------------------------------- the loop

struct TrainOptions {
  int epochs = 50;
  int64_t batch = 512;
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.99;  // Adam, constant learning rate
  uint64_t seed = 0;                            // the order of the batches
};

struct Score {
  double loss = 0;      // the batches' mean losses (seq2seq: per scored target token), weighted by size
  double accuracy = 0;  // the fraction of examples right (seq2seq: at every scored position)
};

struct EpochMetrics {
  int epoch = 0;
  Score train, val;  // train: means over the epoch's batches, in training mode
  double seconds = 0;
};

// The part of training and evaluation that depends on the model family.
class Objective {
 public:
  virtual ~Objective() = default;
  virtual Module& model() = 0;
  // Training mode, recorded: the batch's mean loss and its accuracy as the loss saw it.
  virtual std::pair<Tensor, double> train_batch(const tasks::Split& batch) = 0;
  // Called in eval mode without recording: the batch's mean loss and accuracy.
  virtual Score eval_batch(const tasks::Split& batch) = 0;
};

// The score on a whole split, in batches, in eval mode without recording (the model's mode is
// restored afterwards).
Score evaluate(Objective& objective, const tasks::Split& split, int64_t batch);

struct FitResult {
  std::vector<EpochMetrics> history;
  int best_epoch = 0;  // the epoch of the highest validation accuracy (lower loss breaks ties)
};

// Trains on data.train for options.epochs, validating on data.val after each epoch, then loads
// the best epoch's weights back into the model. on_epoch runs after each epoch with its metrics
// and whether it is the best so far (to write metrics and save a checkpoint); progress (may be
// null) shows the steps.
FitResult fit(Objective& objective, const tasks::TaskData& data, const TrainOptions& options,
              Progress* progress, const std::function<void(const EpochMetrics&, bool best)>& on_epoch = {});

// ---------------------------------------------------------------- runs

bool is_seq2seq_task(const std::string& task);  // sorting, copy, reverse

// The model of a run, by the names of the programs' flags.
struct ModelSpec {
  std::string kind = "transformer";  // transformer | dat | gpam
  int64_t layers = 2;                // seq2seq: encoder and decoder layers each
  int64_t d = 128, d_ff = 256;
  int64_t heads = 2;                 // transformer and gpam
  int64_t n_sa = 1, n_ra = 1;        // dat: sensory and relational heads
  double dropout = 0.1;

  AttentionConfig attention() const;  // throws for an unknown kind
  std::string str() const;            // "dat (1 sa + 1 ra heads), 2 layers, d 128, d_ff 256"
};

struct RunSpec {
  std::string task = "occurs";
  tasks::Sizes sizes;         // each 0 entry takes the task's default (tasks::default_sizes)
  ModelSpec model;
  cli::CommonFlags common = {0, 0, 50, "runs/run"};  // seed (of the data, the initial weights
                                                     // and the batch order), threads, epochs, out
  int64_t batch = 512;
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.99;
  std::string load;           // a checkpoint to start from; it must hold the same model config
  bool eval_only = false;     // with load: test the loaded model without training
  int pictures = 3;           // test examples drawn in attention_<i>.svg (0: none)

  TrainOptions train_options() const;
};

// The defaults of a task's family: RunSpec's own (the relational-games set-up) for a classifier
// task; for a seq2seq task d 64, d_ff 128, batch 128, 100 epochs, sizes 1000 / 1000 / 2000 and
// 2 pictures.
RunSpec family_defaults(const std::string& task);

// After parsing: every family default (above) whose flag was not given replaces spec's value, so
// a program serving both families (the sweep) gets the right defaults for the chosen --task.
void apply_family_defaults(const CLI::App& app, RunSpec& spec);

// The flags every program shares, bound to spec (its values are the defaults --help shows):
// --task (one of `tasks`), --model, --layers, --d, --d-ff, --heads, --n-sa, --n-ra, --dropout,
// --train-size, --val-size, --test-size, --batch, --lr, --load, --eval-only, --pictures, and
// cli.h's --seed, --threads, --epochs, --out. Parse with cli::parse_or_exit(app, spec.common, ...).
void add_run_flags(CLI::App& app, RunSpec& spec, const std::vector<std::string>& tasks);

// Runs a spec: checks the folder, the flags and the sizes first (a dl::Error naming the problem
// before any training), then trains and tests, printing progress to out (a redrawn bar when
// terminal). Returns summary.json: task, model, model_spec, train_size, val_size, test_size,
// seed, epochs, best_epoch, best_val_accuracy, test_accuracy, test_loss, heldout_accuracy
// {name: accuracy} (empty without held-out sets), parameters, threads, wall_seconds, folder.
nlohmann::json run_task(const RunSpec& spec, std::ostream& out, bool terminal);

// ---------------------------------------------------------------- sweeps

struct SweepSpec {
  RunSpec base;                       // task, model sizes, epochs...; out is the sweep's folder
  std::vector<int64_t> train_sizes;   // e.g. 250, 500, 1000
  std::vector<std::string> models;    // model kinds, e.g. transformer, dat
  std::vector<uint64_t> seeds;
  bool resume = false;                // reuse a run whose summary.json exists
};

// Every (train size, model, seed) run in base.out/runs/<model>_n<size>_s<seed>, then in base.out:
// runs.csv (one row per run), results.csv and results.md (mean and standard deviation over seeds
// per model and size, test and held-out accuracy) and learning_curves.svg (accuracy against
// training size, one line per model, the spread shaded). Returns the rows of results.csv.
nlohmann::json run_sweep(const SweepSpec& sweep, std::ostream& out, bool terminal);

// ---------------------------------------------------------------- programs

// What a program's main does after parsing: body(), or on a dl::Error (or any std::exception)
// "error: <message>" on err and exit code 1.
int guarded(const std::function<void()>& body, std::ostream& err);

// "model      test   hexomino  stripes" table of run summaries, one row each.
std::string comparison_table(const std::vector<nlohmann::json>& summaries);

}  // namespace dl::train
