#include "examples/common/train.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include "examples/common/attention_pictures.h"
#include "examples/common/format.h"
#include "examples/common/objectives.h"
#include "examples/common/progress.h"
#include "examples/common/run_dir.h"
#include "examples/common/sequence_tasks.h"
#include "examples/common/tasks.h"
#include "models/checkpoint.h"
#include "ops/ops.h"

namespace dl::train {

using json = nlohmann::json;
using tasks::Split;
using tasks::TaskData;

namespace {

// Float inputs are standardised with one mean and standard deviation over the training split's
// values. Relational-game pixels lie in [0, 1] and are mostly 0: unscaled, their embeddings are
// about 10x smaller than the N(0, 1) learned positions, which drown them (occurs then stays near
// 50% for tens of epochs; standardised, DAT learns it in a few). Token inputs are left alone. A
// checkpoint stores the two numbers, so a loaded model sees inputs scaled as in its training.
struct InputScale {
  double mean = 0, std = 1;

  static InputScale of(const Split& train) {
    if (train.x.dtype() == DType::I32) return {};
    const std::vector<double> v = train.x.to_vector();
    double sum = 0, sq = 0;
    for (double x : v) sum += x;
    const double mean = sum / v.size();
    for (double x : v) sq += (x - mean) * (x - mean);
    const double std = std::sqrt(sq / v.size());
    return {mean, std > 0 ? std : 1.0};
  }
  static InputScale from(const std::map<std::string, std::string>& metadata, const std::string& path) {
    DL_CHECK(metadata.count("input_mean") && metadata.count("input_std"), "run",
             "checkpoint '" + path + "' stores no input_mean and input_std (not written by these programs?)");
    return {std::stod(metadata.at("input_mean")), std::stod(metadata.at("input_std"))};
  }
  std::map<std::string, std::string> metadata() const {
    char m[40], sd[40];
    std::snprintf(m, sizeof m, "%.17g", mean);
    std::snprintf(sd, sizeof sd, "%.17g", std);
    return {{"input_mean", m}, {"input_std", sd}};
  }
  void apply(TaskData& data) const {
    NoGradGuard no_grad;
    auto scale = [&](Split& s) {
      if (s.x.dtype() != DType::I32) s.x = (s.x - Tensor::scalar(mean)) * Tensor::scalar(1.0 / std);
    };
    for (Split* s : {&data.train, &data.val, &data.test}) scale(*s);
    for (auto& item : data.extra_tests) scale(item.second);
  }
};

// Everything after the model is built: load, train, test, draw, summarise. M is Classifier or
// Seq2Seq; draw(files) writes the attention pictures.
template <class M, class Draw>
json train_and_test(const RunSpec& spec, RunDir& dir, TaskData& data, M& model, Objective& objective,
                    std::ostream& out, bool terminal, double start, Draw&& draw) {
  InputScale scale = InputScale::of(data.train);
  if (!spec.load.empty()) {
    scale = InputScale::from(load_model_into(spec.load, model).metadata, spec.load);
    out << "loaded " << spec.load << "\n";
  }
  scale.apply(data);
  json config = spec_json(spec, {data.train.size(), data.val.size(), data.test.size()});
  config["input_mean"] = scale.mean;
  config["input_std"] = scale.std;
  config["model"] = model.config;
  dir.write_json("config.json", config);
  out << spec.task << ": train " << data.train.size() << ", val " << data.val.size() << ", test "
      << data.test.size();
  for (const auto& [name, split] : data.extra_tests) out << ", " << name << " " << split.size();
  out << "\nmodel " << spec.model.str() << ", " << model.num_parameters() << " parameters, " << num_threads()
      << " threads\n";

  const std::string checkpoint = dir.file("checkpoint.safetensors");
  std::vector<std::string> files = {"config.json"};
  FitResult fitted;
  if (!spec.eval_only) {
    const TrainOptions options = spec.train_options();
    const int64_t steps = (data.train.size() + options.batch - 1) / options.batch;
    Progress progress(out, terminal, options.epochs, steps);
    fitted = fit(objective, data, options, &progress, [&](const EpochMetrics& m, bool best) {
      dir.append_metrics({{"epoch", m.epoch},
                          {"train_loss", m.train.loss},
                          {"train_accuracy", m.train.accuracy},
                          {"val_loss", m.val.loss},
                          {"val_accuracy", m.val.accuracy},
                          {"seconds", m.seconds}});
      if (best) save_model(checkpoint, model, nullptr, m.epoch, scale.metadata());
    });
    save_learning_curves(dir, spec.task + ", " + spec.model.kind + ", " + std::to_string(data.train.size()) +
                                  " training examples", fitted.history);
    files.insert(files.end(), {"metrics.csv", "checkpoint.safetensors", "learning_curves.svg"});
  }

  const Score test = evaluate(objective, data.test, spec.batch);
  json heldout = json::object();
  out << "test accuracy " << percent(test.accuracy);
  for (const auto& [name, split] : data.extra_tests) {
    const double accuracy = evaluate(objective, split, spec.batch).accuracy;
    heldout[name] = accuracy;
    out << "  " << name << " " << percent(accuracy);
  }
  out << "\n";
  if (spec.pictures > 0) draw(files);

  const double best_val = fitted.history.empty() ? NAN : fitted.history[fitted.best_epoch - 1].val.accuracy;
  json summary = {{"task", spec.task},
                  {"model", spec.model.kind},
                  {"model_spec", spec.model.str()},
                  {"train_size", data.train.size()},
                  {"val_size", data.val.size()},
                  {"test_size", data.test.size()},
                  {"seed", spec.common.seed},
                  {"epochs", fitted.history.size()},
                  {"best_epoch", fitted.best_epoch},
                  {"best_val_accuracy", std::isnan(best_val) ? json() : json(best_val)},
                  {"test_accuracy", test.accuracy},
                  {"test_loss", test.loss},
                  {"heldout_accuracy", heldout},
                  {"parameters", model.num_parameters()},
                  {"threads", num_threads()},
                  {"wall_seconds", Progress::steady_seconds() - start},
                  {"folder", dir.folder()}};
  dir.write_json("summary.json", summary);
  files.push_back("summary.json");
  std::string listing;
  for (const std::string& f : files) listing += (listing.empty() ? "" : ", ") + f;
  out << "wrote " << dir.folder() << "/: " << listing << "\n";
  return summary;
}

}  // namespace

json run_task(const RunSpec& spec, std::ostream& out, bool terminal) {
  const double start = Progress::steady_seconds();
  const tasks::Sizes sizes = resolved_sizes(spec);  // throws for an unknown task
  const BlockConfig block = block_config(spec.model);
  DL_CHECK(spec.batch >= 1 && spec.lr > 0 && spec.common.epochs >= 1, "run",
           "need batch >= 1, lr > 0 and epochs >= 1, got " + std::to_string(spec.batch) + ", " +
               std::to_string(spec.lr) + ", " + std::to_string(spec.common.epochs));
  DL_CHECK(!spec.eval_only || !spec.load.empty(), "run", "--eval-only needs a checkpoint to --load");
  DL_CHECK(spec.load.empty() || std::filesystem::is_regular_file(spec.load), "run",
           "no checkpoint file '" + spec.load + "'");
  RunDir dir(spec.common.out);
  TaskData data = tasks::make_task(spec.task, sizes, spec.common.seed);
  Generator gen(spec.common.seed);

  if (!is_seq2seq_task(spec.task)) {
    ClassifierConfig c;
    c.in_features = data.train.x.size(2);
    c.max_len = data.train.x.size(1);
    c.n_classes = 2;
    c.layers = spec.model.layers;
    c.mlp_hidden = spec.model.d;
    c.block = block;
    Classifier model(c, gen);
    ClassifierObjective objective(model);
    return train_and_test(spec, dir, data, model, objective, out, terminal, start, [&](std::vector<std::string>& f) {
      draw_attention(model, data, spec.task, dir, spec.pictures, f);
    });
  }
  // Sorting: feature source, targets 0..T-1 all scored, start token T. Copy and reverse: token
  // source and target over the same vocabulary, padded.
  const bool sorting = spec.task == "sorting";
  const int64_t T = data.train.y.size(1);
  Seq2SeqConfig c;
  c.src_features = sorting ? data.train.x.size(2) : 0;
  c.src_vocab = sorting ? 0 : tasks::SequenceConfig{}.vocab_size();
  c.tgt_vocab = sorting ? T + 1 : c.src_vocab;
  c.max_len = T;
  c.encoder_layers = c.decoder_layers = spec.model.layers;
  c.block = block;
  const int32_t start_token = sorting ? static_cast<int32_t>(T) : tasks::kStart;
  const int32_t pad = sorting ? -1 : tasks::kPad;
  Seq2Seq model(c, gen);
  Seq2SeqObjective objective(model, start_token, pad);
  return train_and_test(spec, dir, data, model, objective, out, terminal, start, [&](std::vector<std::string>& f) {
    draw_attention(model, data, spec.task, dir, spec.pictures, f, start_token, pad);
  });
}

// ---------------------------------------------------------------- programs

int guarded(const std::function<void()>& body, std::ostream& err) {
  try {
    body();
    return 0;
  } catch (const std::exception& e) {
    err << "error: " << e.what() << "\n";
    return 1;
  }
}

std::string comparison_table(const std::vector<json>& summaries) {
  std::vector<std::string> sets;
  if (!summaries.empty())
    for (const auto& item : summaries.front()["heldout_accuracy"].items()) sets.push_back(item.key());
  char line[256];
  std::snprintf(line, sizeof line, "%-12s %8s %10s", "model", "train", "test acc");
  std::string table = line;
  for (const std::string& s : sets) {
    std::snprintf(line, sizeof line, " %10s", s.c_str());
    table += line;
  }
  table += "  parameters    time\n";
  for (const json& r : summaries) {
    std::snprintf(line, sizeof line, "%-12s %8lld %10s", r["model"].get<std::string>().c_str(),
                  static_cast<long long>(r["train_size"].get<int64_t>()), percent(r["test_accuracy"]).c_str());
    table += line;
    for (const std::string& s : sets) {
      std::snprintf(line, sizeof line, " %10s", percent(r["heldout_accuracy"][s]).c_str());
      table += line;
    }
    std::snprintf(line, sizeof line, "  %10lld %6.0fs\n", static_cast<long long>(r["parameters"].get<int64_t>()),
                  r["wall_seconds"].get<double>());
    table += line;
  }
  return table;
}

}  // namespace dl::train
