#include "examples/common/train.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <tuple>
#include "examples/common/format.h"
#include "examples/common/memory_estimate.h"
#include "examples/common/progress.h"
#include "examples/common/run_dir.h"
#include "examples/common/task_model.h"
#include "examples/common/tasks.h"
#include "models/checkpoint.h"
#include "ops/ops.h"

namespace dl::train {

using json = nlohmann::json;
using tasks::Split;
using tasks::TaskData;

namespace {

// Training's state in last.safetensors' metadata, exactly (JSON numbers round-trip).
std::string fit_state_json(const FitState& s) {
  json history = json::array();
  for (const EpochMetrics& m : s.history)
    history.push_back({m.epoch, m.train.loss, m.train.accuracy, m.val.loss, m.val.accuracy, m.seconds});
  return json{{"epoch", s.epoch}, {"step", s.step}, {"order", s.order}, {"best_epoch", s.best_epoch},
              {"history", history}}
      .dump();
}

void restore_fit_state(FitState& s, const std::string& text, const std::string& path) {
  try {
    const json j = json::parse(text);
    j.at("epoch").get_to(s.epoch);
    j.at("step").get_to(s.step);
    j.at("order").get_to(s.order);
    j.at("best_epoch").get_to(s.best_epoch);
    for (const json& row : j.at("history"))
      s.history.push_back({row.at(0).get<int>(), {row.at(1).get<double>(), row.at(2).get<double>()},
                           {row.at(3).get<double>(), row.at(4).get<double>()}, row.at(5).get<double>()});
  } catch (const json::exception& e) {
    throw Error("run: " + path + ": the stored training state is malformed: " + e.what());
  }
  DL_CHECK(s.epoch >= 1 && static_cast<int>(s.history.size()) == s.epoch && s.best_epoch >= 1 &&
               s.best_epoch <= s.epoch,
           "run", path + ": the stored training state is inconsistent");
}

void append_metrics(RunDir& dir, const EpochMetrics& m) {
  dir.append_metrics({{"epoch", m.epoch},
                      {"train_loss", m.train.loss},
                      {"train_accuracy", m.train.accuracy},
                      {"val_loss", m.val.loss},
                      {"val_accuracy", m.val.accuracy},
                      {"seconds", m.seconds}});
}

// The folder is this run's: refused when it holds another run, unless resuming or overwriting.
void claim_folder(RunDir& dir, const RunSpec& spec) {
  const std::string held = dir.run_files();
  if (spec.resume) {
    DL_CHECK(std::filesystem::exists(dir.file("last.safetensors")), "run",
             "--resume: '" + dir.folder() + "' holds no last.safetensors to resume from (it is written after " +
                 "each completed epoch)");
  } else if (!held.empty()) {
    DL_CHECK(spec.overwrite, "run",
             "the folder '" + dir.folder() + "' holds a run (" + held +
                 "); give --resume to continue it, --overwrite to replace it, or another --out");
    dir.clear_run();
  }
}

// One line: the test accuracy, then each held-out set's.
void print_scores(std::ostream& out, double test_accuracy, const json& heldout) {
  out << "test accuracy " << percent(test_accuracy);
  for (const auto& [name, accuracy] : heldout.items()) out << "  " << name << " " << percent(accuracy.get<double>());
  out << "\n";
}

// The test split's score and each held-out set's accuracy, printed on one line.
std::pair<Score, json> test_model(Objective& objective, const TaskData& data, int64_t batch, std::ostream& out) {
  const Score test = evaluate(objective, data.test, batch);
  json heldout = json::object();
  for (const auto& [name, split] : data.extra_tests) heldout[name] = evaluate(objective, split, batch).accuracy;
  print_scores(out, test.accuracy, heldout);
  return {test, heldout};
}

// Everything after the model is built: load or resume, train, test, summarise, draw. M is
// Classifier or Seq2Seq; draw(dir, k, files) writes the attention pictures.
template <class M, class Draw>
json train_and_test(const RunSpec& spec, RunDir& dir, TaskData& data, M& model, Objective& objective,
                    std::ostream& out, bool terminal, double start, Draw&& draw) {
  const std::string checkpoint = dir.file("checkpoint.safetensors"), last = dir.file("last.safetensors");
  // The best epoch's model: the checkpoint when it is the one selected, else a file of its own.
  const std::string best_file = spec.select == "best" ? checkpoint : dir.file("best.safetensors");
  const std::string from = spec.resume ? last : spec.load;
  InputScale scale = InputScale::of(spec, data.train);
  if (!from.empty()) scale = InputScale::from(read_safetensors(from).metadata, from);
  scale.apply(data);
  if (!spec.load.empty()) {
    load_model_into(spec.load, model);
    out << "loaded " << spec.load << "\n";
  }
  const json run = spec_json(spec, {data.train.size(), data.val.size(), data.test.size()});
  std::map<std::string, std::string> metadata = scale.metadata();
  metadata["run"] = run.dump();
  json config = {{"run", run}, {"input_mean", scale.mean}, {"input_std", scale.std}, {"model", model.config}};
  dir.write_json("config.json", config);
  out << spec.task << ": train " << data.train.size() << ", val " << data.val.size() << ", test "
      << data.test.size();
  for (const auto& [name, split] : data.extra_tests) out << ", " << name << " " << split.size();
  out << "\nmodel " << spec.model.str() << ", " << model.num_parameters() << " parameters, " << num_threads()
      << " threads\n";

  std::vector<std::string> files = {"config.json"};
  FitState fitted;
  if (!spec.eval_only) {
    const TrainOptions options = spec.train_options();
    const int64_t steps = (data.train.size() + options.batch - 1) / options.batch;
    Progress progress(out, terminal, options.epochs, steps);
    // Per epoch: the best checkpoint first, then last.safetensors, so a kill between the two
    // resumes from the epoch before, which is trained again to the same result.
    auto on_epoch = [&](const EpochMetrics& m, bool best, const FitState& state, const Optimizer& adam) {
      std::map<std::string, std::string> meta = metadata;
      meta["epoch"] = std::to_string(m.epoch);
      if (best) save_model(best_file, model, nullptr, m.epoch, meta);
      meta["fit"] = fit_state_json(state);
      save_model(last, model, &adam, state.step, meta);
      append_metrics(dir, m);
    };
    auto resume = [&](FitState& state, Optimizer& adam) {
      if (!spec.resume) return;
      restore_fit_state(state, load_model_into(last, model, &adam).metadata.at("fit"), last);
      std::map<std::string, Tensor> best = read_safetensors(best_file).tensors;
      for (const auto& [name, p] : model.named_parameters()) state.best_weights[name] = best.at(name);
      std::filesystem::remove(dir.file("metrics.csv"));
      for (const EpochMetrics& m : state.history) append_metrics(dir, m);
      out << "resumed " << last << " after epoch " << state.epoch << " (step " << state.step << ")\n";
    };
    fitted = fit(objective, data, options, &progress, on_epoch, resume);
    files.insert(files.end(), {"metrics.csv", "checkpoint.safetensors", "last.safetensors"});
    if (spec.select == "final") files.push_back("best.safetensors");
  }

  // Both the final and the best epoch's model are tested after training; the selected one last,
  // so that the model ends holding it (the pictures draw it) and the headline figures are its.
  json figures = json::object();
  Score test;
  json heldout;
  if (spec.eval_only) {
    std::tie(test, heldout) = test_model(objective, data, spec.batch, out);
  } else {
    const std::map<std::string, Tensor> final_weights = snapshot(model);
    const std::string other = spec.select == "best" ? "final" : "best";
    // When the best epoch is the last one the two models are the same weights: tested once.
    const bool same_model = fitted.best_epoch == fitted.epoch;
    for (const std::string& which : {other, spec.select}) {
      const int epoch = which == "best" ? fitted.best_epoch : fitted.epoch;
      if (same_model && which == spec.select) {
        out << which << " model (epoch " << epoch << ", the " << other << " model): ";
        print_scores(out, test.accuracy, heldout);
        figures[which] = figures[other];
        break;
      }
      model.load_state_dict(which == "best" ? fitted.best_weights : final_weights);
      out << which << " model (epoch " << epoch << "): ";
      std::tie(test, heldout) = test_model(objective, data, spec.batch, out);
      figures[which] = {{"epoch", epoch}, {"test_accuracy", test.accuracy}, {"test_loss", test.loss},
                        {"heldout_accuracy", heldout}};
    }
    if (spec.select == "final") {
      std::map<std::string, std::string> meta = metadata;
      meta["epoch"] = std::to_string(fitted.epoch);
      save_model(checkpoint, model, nullptr, fitted.epoch, meta);
    }
  }
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
                  {"select", spec.select},
                  {"final", figures.value("final", json())},
                  {"best", figures.value("best", json())},
                  {"parameters", model.num_parameters()},
                  {"threads", num_threads()},
                  {"wall_seconds", Progress::steady_seconds() - start},
                  {"folder", dir.folder()}};
  dir.write_json("summary.json", summary);
  files.push_back("summary.json");

  // Results first: the pictures come after summary.json and the checkpoints are safe.
  try {
    if (!spec.eval_only) {
      save_learning_curves(dir, spec.task + ", " + spec.model.kind + ", " + std::to_string(data.train.size()) +
                                    " training examples", fitted.history);
      files.push_back("learning_curves.svg");
    }
    if (spec.pictures > 0) draw(dir, spec.pictures, files);
  } catch (const std::exception& e) {
    throw Error(std::string("pictures: ") + e.what() + " (the results are safe: summary.json" +
                (spec.eval_only ? "" : ", checkpoint.safetensors, metrics.csv") + " in " + dir.folder() + ")");
  }
  std::string listing;
  for (const std::string& f : files) listing += (listing.empty() ? "" : ", ") + f;
  out << "wrote " << dir.folder() << "/: " << listing << "\n";
  return summary;
}

}  // namespace

json run_task(const RunSpec& spec, std::ostream& out, bool terminal) {
  const double start = Progress::steady_seconds();
  const tasks::Sizes sizes = resolved_sizes(spec);  // throws for an unknown task
  block_config(spec.model);                         // throws for a bad model
  DL_CHECK(spec.batch >= 1 && spec.lr > 0 && spec.common.epochs >= 1, "run",
           "need batch >= 1, lr > 0 and epochs >= 1, got " + std::to_string(spec.batch) + ", " +
               std::to_string(spec.lr) + ", " + std::to_string(spec.common.epochs));
  DL_CHECK(std::isfinite(spec.lr) && std::isfinite(spec.model.dropout), "run",
           "--lr and --dropout must be finite numbers, got " + std::to_string(spec.lr) + " and " +
               std::to_string(spec.model.dropout));
  DL_CHECK(!spec.eval_only || !spec.load.empty(), "run", "--eval-only needs a checkpoint to --load");
  DL_CHECK(spec.load.empty() || std::filesystem::is_regular_file(spec.load), "run",
           "no checkpoint file '" + spec.load + "'");
  DL_CHECK(!spec.resume || (spec.load.empty() && !spec.eval_only && !spec.overwrite), "run",
           "--resume continues the run in --out; it does not go with --load, --eval-only or --overwrite");
  check_memory(spec, sizes);  // before anything large is allocated
  RunDir dir(spec.common.out);
  claim_folder(dir, spec);
  TaskData data = tasks::make_task(spec.task, sizes, spec.common.seed, tasks::images_named(spec.images));
  return with_task_model(spec, data, [&](auto& model, Objective& objective, auto&& draw) {
    return train_and_test(spec, dir, data, model, objective, out, terminal, start, draw);
  });
}

LoadedRun load_run(const CLI::App& app, RunSpec spec, const std::string& checkpoint) {
  DL_CHECK(std::filesystem::is_regular_file(checkpoint), "run", "no checkpoint file '" + checkpoint + "'");
  LoadedRun r;
  r.path = checkpoint;
  r.metadata = read_safetensors(checkpoint).metadata;
  DL_CHECK(r.metadata.count("run"), "run",
           checkpoint + " stores no run (not written by train_classifier or train_seq2seq?)");
  try {
    adopt_stored_run(app, spec, json::parse(r.metadata.at("run")), checkpoint);
  } catch (const json::exception& e) {
    throw Error("run: " + checkpoint + ": the stored run is not JSON: " + e.what());
  }
  r.spec = spec;
  r.data = tasks::make_task(spec.task, resolved_sizes(spec), spec.common.seed, tasks::images_named(spec.images));
  InputScale::from(r.metadata, checkpoint).apply(r.data);
  return r;
}

json evaluate_run(LoadedRun& run, std::ostream& out) {
  return with_task_model(run.spec, run.data, [&](auto& model, Objective& objective, auto&&) {
    load_model_into(run.path, model);
    const auto [test, heldout] = test_model(objective, run.data, run.spec.batch, out);
    return json{{"test_accuracy", test.accuracy}, {"test_loss", test.loss}, {"heldout_accuracy", heldout}};
  });
}

void adopt_resumed_run(const CLI::App& app, RunSpec& spec) {
  if (!spec.resume) return;
  const std::string last = (std::filesystem::path(spec.common.out) / "last.safetensors").string();
  DL_CHECK(std::filesystem::is_regular_file(last), "run",
           "--resume: '" + spec.common.out + "' holds no last.safetensors to resume from (it is written after " +
               "each completed epoch)");
  const std::map<std::string, std::string> metadata = read_safetensors(last).metadata;
  DL_CHECK(metadata.count("run"), "run", last + " stores no run (not written by these programs?)");
  try {
    adopt_stored_run(app, spec, json::parse(metadata.at("run")), last, {"epochs"});
  } catch (const json::exception& e) {
    throw Error("run: " + last + ": the stored run is not JSON: " + e.what());
  }
}

// ---------------------------------------------------------------- programs

int guarded(const std::function<void()>& body, std::ostream& err) {
  try {
    body();
    return 0;
  } catch (const std::bad_alloc&) {
    err << "error: out of memory (std::bad_alloc); the configuration needs more memory than this machine "
           "gives: lower --train-size, --val-size, --test-size, --batch, --d, --d-ff or --layers\n";
    return 1;
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
