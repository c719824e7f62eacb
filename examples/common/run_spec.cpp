#include "examples/common/run_spec.h"

#include <algorithm>

#include "examples/common/format.h"
#include "examples/common/tasks.h"

namespace dl::train {

using json = nlohmann::json;

bool is_seq2seq_task(const std::string& task) { return task == "sorting" || task == "copy" || task == "reverse"; }

AttentionConfig ModelSpec::attention() const { return model_attention(kind, {heads, n_sa, n_ra}); }

std::string ModelSpec::str() const {
  const std::string heads_text = model_kind(kind).describe(attention());
  return kind + " (" + heads_text + "), " + std::to_string(layers) + " layers, d " + std::to_string(d) + ", d_ff " +
         std::to_string(d_ff) + ", dropout " + fixed(dropout, 2);
}

TrainOptions RunSpec::train_options() const { return {common.epochs, batch, lr, beta1, beta2, common.seed}; }


BlockConfig block_config(const ModelSpec& m) {
  BlockConfig b;
  b.d = m.d;
  b.d_ff = m.d_ff;
  b.dropout = m.dropout;
  b.attention = m.attention();
  b.validate();
  DL_CHECK(m.layers >= 1, "model", "layers must be positive, got " + std::to_string(m.layers));
  return b;
}

tasks::Sizes resolved_sizes(const RunSpec& spec) {
  const tasks::Sizes d = tasks::default_sizes(spec.task);
  return {spec.sizes.train > 0 ? spec.sizes.train : d.train, spec.sizes.val > 0 ? spec.sizes.val : d.val,
          spec.sizes.test > 0 ? spec.sizes.test : d.test};
}

json spec_json(const RunSpec& s, const tasks::Sizes& sizes) {
  return {{"task", s.task},
          {"images", s.images},
          {"train-size", sizes.train},
          {"val-size", sizes.val},
          {"test-size", sizes.test},
          {"model", s.model.kind},
          {"layers", s.model.layers},
          {"d", s.model.d},
          {"d-ff", s.model.d_ff},
          {"heads", s.model.heads},
          {"n-sa", s.model.n_sa},
          {"n-ra", s.model.n_ra},
          {"dropout", s.model.dropout},
          {"embed", s.model.embed},
          {"seed", s.common.seed},
          {"epochs", s.common.epochs},
          {"batch", s.batch},
          {"lr", s.lr},
          {"betas", {s.beta1, s.beta2}},
          {"select", s.select}};
}

RunSpec spec_from_json(const json& j, RunSpec s, const std::string& source) {
  try {
    j.at("task").get_to(s.task);
    s.images = j.value("images", "compact");  // runs from before --images had compact images
    s.sizes = {j.at("train-size").get<int64_t>(), j.at("val-size").get<int64_t>(), j.at("test-size").get<int64_t>()};
    j.at("model").get_to(s.model.kind);
    j.at("layers").get_to(s.model.layers);
    j.at("d").get_to(s.model.d);
    j.at("d-ff").get_to(s.model.d_ff);
    j.at("heads").get_to(s.model.heads);
    j.at("n-sa").get_to(s.model.n_sa);
    j.at("n-ra").get_to(s.model.n_ra);
    j.at("dropout").get_to(s.model.dropout);
    s.model.embed = j.value("embed", "compact");  // runs from before --embed had the compact one
    j.at("seed").get_to(s.common.seed);
    j.at("epochs").get_to(s.common.epochs);
    j.at("batch").get_to(s.batch);
    j.at("lr").get_to(s.lr);
    s.beta1 = j.at("betas").at(0).get<double>();
    s.beta2 = j.at("betas").at(1).get<double>();
    s.select = j.value("select", "best");  // runs from before --select kept the best epoch
  } catch (const json::exception& e) {
    throw Error("run: " + source + ": the stored run is incomplete: " + e.what());
  }
  return s;
}

void adopt_stored_run(const CLI::App& app, RunSpec& spec, const json& stored, const std::string& source,
                      const std::vector<std::string>& may_differ) {
  const json given = spec_json(spec, spec.sizes);
  json run = stored;
  for (const auto& item : stored.items()) {
    const CLI::Option* option = app.get_option_no_throw("--" + item.key());
    if (!option || option->count() == 0 || !given.contains(item.key())) continue;
    const json& value = given[item.key()];
    const bool free = std::find(may_differ.begin(), may_differ.end(), item.key()) != may_differ.end();
    DL_CHECK(free || value == item.value(), "run",
             "--" + item.key() + " " + value.dump() + " contradicts " + source + ", a run with " + item.key() + " " +
                 item.value().dump() + " (leave the flag out to use the stored value)");
    run[item.key()] = value;
  }
  spec = spec_from_json(run, spec, source);
}

RunSpec family_defaults(const std::string& task) {
  RunSpec s;
  s.task = task;
  if (!is_seq2seq_task(task)) return s;
  s.model.d = 64;
  s.model.d_ff = 128;
  s.batch = 128;
  s.common.epochs = 100;
  s.sizes = {1000, 1000, 2000};
  s.pictures = 2;
  return s;
}

void apply_family_defaults(const CLI::App& app, RunSpec& spec) {
  const RunSpec d = family_defaults(spec.task);
  auto unless_given = [&](const char* flag, auto& value, const auto& fallback) {
    const CLI::Option* option = app.get_option_no_throw(flag);
    if (!option || option->count() == 0) value = fallback;
  };
  unless_given("--d", spec.model.d, d.model.d);
  unless_given("--d-ff", spec.model.d_ff, d.model.d_ff);
  unless_given("--batch", spec.batch, d.batch);
  unless_given("--epochs", spec.common.epochs, d.common.epochs);
  unless_given("--train-size", spec.sizes.train, d.sizes.train);
  unless_given("--val-size", spec.sizes.val, d.sizes.val);
  unless_given("--test-size", spec.sizes.test, d.sizes.test);
  unless_given("--pictures", spec.pictures, d.pictures);
}

void add_run_flags(CLI::App& app, RunSpec& s, const std::vector<std::string>& task_names) {
  app.add_option("--task", s.task, "task")->capture_default_str()->check(CLI::IsMember(task_names));
  app.add_option("--images", s.images, "relational games: the original 36x36 images or the compact 18x18 form")
      ->capture_default_str()
      ->check(CLI::IsMember({"original", "compact"}));
  app.add_option("--model", s.model.kind, "model kind")
      ->capture_default_str()
      ->check(CLI::IsMember(model_names()));
  app.add_option("--layers", s.model.layers, "layers (seq2seq: of the encoder and of the decoder)")
      ->capture_default_str()
      ->check(cli::Positive);
  app.add_option("--d", s.model.d, "model width")->capture_default_str()->check(cli::Positive);
  app.add_option("--d-ff", s.model.d_ff, "feed-forward width (SwiGLU)")->capture_default_str()->check(cli::Positive);
  app.add_option("--heads", s.model.heads, "attention heads (transformer, gpam)")
      ->capture_default_str()
      ->check(cli::Positive);
  app.add_option("--n-sa", s.model.n_sa, "dat: sensory heads")->capture_default_str()->check(cli::NonNegative);
  app.add_option("--n-ra", s.model.n_ra, "dat: relational heads")->capture_default_str()->check(cli::NonNegative);
  app.add_option("--dropout", s.model.dropout, "dropout rate")->capture_default_str()->check(CLI::Range(0.0, 0.95));
  app.add_option("--embed", s.model.embed,
                 "classifiers: the official per-token LayerNorm embedding, cls token and head, or the compact "
                 "global standardisation, Linear and MLP head")
      ->capture_default_str()
      ->check(CLI::IsMember({"official", "compact"}));
  app.add_option("--train-size", s.sizes.train, "training examples (0: the task's default)")
      ->capture_default_str()
      ->check(cli::NonNegative);
  app.add_option("--val-size", s.sizes.val, "validation examples (0: the task's default)")
      ->capture_default_str()
      ->check(cli::NonNegative);
  app.add_option("--test-size", s.sizes.test, "test examples, also of each held-out set (0: the task's default)")
      ->capture_default_str()
      ->check(cli::NonNegative);
  app.add_option("--batch", s.batch, "batch size")->capture_default_str()->check(cli::Positive);
  app.add_option("--lr", s.lr, "Adam learning rate")->capture_default_str()->check(cli::Positive);
  app.add_option("--load", s.load, "start from this checkpoint (same model flags)")->check(CLI::ExistingFile);
  app.add_flag("--eval-only", s.eval_only, "with --load: only test the loaded model");
  app.add_flag("--resume", s.resume, "continue the run in --out from its last completed epoch");
  app.add_flag("--overwrite", s.overwrite, "clear --out first when it holds a run");
  app.add_option("--select", s.select, "the model to test and keep as checkpoint: the final epoch's or the best validation epoch's")
      ->capture_default_str()
      ->check(CLI::IsMember({"final", "best"}));
  app.add_option("--pictures", s.pictures, "test examples to draw attention maps of (0: none)")
      ->capture_default_str()
      ->check(cli::NonNegative);
  cli::add_common_flags(app, s.common);
}

}  // namespace dl::train
