// What a run is, by the programs' flags: the task, the sizes, the model and the training
// settings (RunSpec), the flags that set them, and the defaults of each task family.
#pragma once
#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <vector>
#include <nlohmann/json.hpp>
#include "examples/common/cli.h"
#include "examples/common/dataset.h"
#include "examples/common/fit.h"
#include "models/config.h"
#include "models/registry.h"

namespace dl::train {

bool is_seq2seq_task(const std::string& task);  // sorting, copy, reverse

// The model of a run, by the names of the programs' flags.
struct ModelSpec {
  std::string kind = "transformer";  // a model name of models/registry.h: transformer | dat | gpam | diff
  int64_t layers = 2;                // seq2seq: encoder and decoder layers each
  int64_t d = 128, d_ff = 256;
  int64_t heads = 2;                 // transformer, gpam and diff
  int64_t n_sa = 1, n_ra = 1;        // dat: sensory and relational heads
  double dropout = 0.1;
  std::string embed = "official";    // classifiers: "official" (the DAT code's) | "compact" (models/classifier.h)

  AttentionConfig attention() const;  // throws for an unknown kind
  std::string str() const;            // "dat (1 sa + 1 ra heads), 2 layers, d 128, d_ff 256"
};

struct RunSpec {
  std::string task = "occurs";
  std::string images = "original";  // relational games' image form: "original" | "compact"
  tasks::Sizes sizes;         // each 0 entry takes the task's default (tasks::default_sizes)
  ModelSpec model;
  cli::CommonFlags common = {0, 0, 50, "runs/run"};  // seed (of the data, the initial weights
                                                     // and the batch order), threads, epochs, out
  int64_t batch = 512;
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.99;
  std::string load;           // a checkpoint to start from; it must hold the same model config
  bool eval_only = false;     // with load: test the loaded model without training
  int pictures = 3;           // test examples drawn in attention_<i>.svg (0: none)
  bool resume = false;        // continue the run in common.out from its last.safetensors
  bool overwrite = false;     // clear common.out first if it holds a run
  std::string select = "final";  // the model tested and kept as checkpoint: "final" (the last
                                 // epoch's, as the DAT paper) or "best" (the best validation epoch's)

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
// --task (one of `tasks`), --images, --embed, --model, --layers, --d, --d-ff, --heads, --n-sa, --n-ra, --dropout,
// --train-size, --val-size, --test-size, --batch, --lr, --load, --eval-only, --pictures, and
// cli.h's --seed, --threads, --epochs, --out. Parse with cli::parse_or_exit(app, spec.common, ...).
void add_run_flags(CLI::App& app, RunSpec& spec, const std::vector<std::string>& tasks);

// The model's block config (attention, widths, dropout); throws naming a bad combination.
BlockConfig block_config(const ModelSpec& m);

// spec.sizes with each 0 replaced by the task's default; throws for an unknown task.
tasks::Sizes resolved_sizes(const RunSpec& spec);

// What defines a run (not where it goes, nor how it is shown), as a checkpoint and config.json
// store it: the task, the resolved sizes, the model and the training settings, each under the
// name of its flag without the dashes ("task", "train-size", "d-ff", "lr", ...; "betas" has none).
nlohmann::json spec_json(const RunSpec& s, const tasks::Sizes& sizes);
// The spec stored by spec_json, over base's other fields; throws naming a missing key.
RunSpec spec_from_json(const nlohmann::json& stored, RunSpec base, const std::string& source);

// Takes spec's run from `stored` (a spec_json read from `source`, e.g. a checkpoint): a flag
// given on app's command line that names a stored key and differs from the stored value is a
// dl::Error naming the flag, both values and the source, unless the key is in may_differ (then
// the given value wins). Flags that do not define a run (--out, --threads, --pictures) are free.
void adopt_stored_run(const CLI::App& app, RunSpec& spec, const nlohmann::json& stored, const std::string& source,
                      const std::vector<std::string>& may_differ = {});

}  // namespace dl::train
