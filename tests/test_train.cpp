#include "tests/testing.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>
#include <nlohmann/json.hpp>
#include "examples/common/run_sweep.h"
#include "examples/common/stats.h"
#include "examples/common/train.h"

using namespace dl;
using namespace dl::train;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// A fresh folder under the system's temporary folder, removed at the end of the test.
struct TempFolder {
  fs::path path = fs::temp_directory_path() / ("dl_test_train_" + std::to_string(getpid()));
  TempFolder() { fs::remove_all(path); }
  ~TempFolder() { fs::remove_all(path); }
};

std::string read(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

size_t lines(const std::string& s) { return static_cast<size_t>(std::count(s.begin(), s.end(), '\n')); }

// A run small enough for a unit test: d 16, 16 training examples, 2 epochs.
RunSpec tiny(const std::string& task, const std::string& model, const fs::path& out) {
  RunSpec s = family_defaults(task);
  s.model.kind = model;
  s.model.d = 16;
  s.model.d_ff = 32;
  s.sizes = {16, 8, 8};
  s.batch = 8;
  s.common.epochs = 2;
  s.common.out = out.string();
  s.pictures = 1;
  return s;
}

// One scalar parameter w; the loss (w - 3)^2 pulls it up while the validation accuracy
// -(w - 1.5)^2 peaks on the way, so fit must restore an earlier epoch's w.
struct Scalar : Module {
  Tensor w;
  Scalar() { w = register_parameter("w", Tensor::zeros({1})); }
};

class ScalarObjective : public Objective {
 public:
  Module& model() override { return m; }
  std::pair<Tensor, double> train_batch(const tasks::Split&) override {
    const Tensor e = m.w - Tensor::scalar(3.0);
    return {sum(e * e), 0.0};
  }
  // Also: the mean of x as loss and the fraction of y == 1 as accuracy, to check the weighting.
  Score eval_batch(const tasks::Split& batch) override {
    seen_w.push_back(m.w.item());
    batches.push_back(batch.size());
    if (score_rows) return {mean(batch.x).item(), mean(batch.y.to(DType::F32)).item()};
    const double w = m.w.item();
    return {0.0, -(w - 1.5) * (w - 1.5)};
  }
  Scalar m;
  bool score_rows = false;
  std::vector<double> seen_w;
  std::vector<int64_t> batches;
};

tasks::Split rows(const std::vector<float>& x, const std::vector<int32_t>& y) {
  return {tasks::make_tensor(x, {static_cast<int64_t>(x.size()), 1}), tasks::make_tensor(y, {static_cast<int64_t>(y.size())})};
}

}  // namespace

TEST_CASE("train: evaluate weights uneven batches by their size", "[train]") {
  ScalarObjective objective;
  objective.score_rows = true;
  objective.m.train();
  const Score s = evaluate(objective, rows({1, 2, 3, 4, 10}, {1, 1, 0, 0, 1}), 2);
  REQUIRE(objective.batches == std::vector<int64_t>{2, 2, 1});
  REQUIRE(s.loss == Approx(4.0));       // (1 + 2 + 3 + 4 + 10) / 5
  REQUIRE(s.accuracy == Approx(0.6));   // 3 of 5
  REQUIRE(objective.m.training());      // the mode is restored
}

TEST_CASE("train: fit validates every epoch and keeps the best epoch's weights beside the final ones", "[train]") {
  ScalarObjective objective;
  tasks::TaskData data;
  data.train = rows({0, 0, 0}, {0, 1, 0});
  data.val = rows({0}, {0});
  TrainOptions o;
  o.epochs = 6;
  o.batch = 2;  // 2 steps per epoch
  o.lr = 0.4;
  std::vector<int> best_flags;
  const FitState r = fit(objective, data, o, nullptr, [&](const EpochMetrics&, bool best, const FitState&, const Optimizer&) {
    best_flags.push_back(best);
  });
  REQUIRE(r.history.size() == 6);
  REQUIRE(best_flags.size() == 6);
  REQUIRE(best_flags[0] == 1);
  int best = 1;
  for (const EpochMetrics& m : r.history)
    if (m.val.accuracy > r.history[best - 1].val.accuracy) best = m.epoch;
  REQUIRE(r.best_epoch == best);
  REQUIRE(best > 1);
  REQUIRE(best < 6);  // w passes 1.5 on its way to 3
  REQUIRE(objective.m.w.item() == objective.seen_w.back());  // the model ends at the final weights
  REQUIRE(r.best_weights.begin()->second.item() == objective.seen_w[best - 1]);
  REQUIRE(objective.seen_w.back() != objective.seen_w[best - 1]);
  REQUIRE(r.history[0].train.loss == Approx(9.0).epsilon(0.3));  // (w - 3)^2 near w = 0
}

TEST_CASE("train: a classifier run writes its folder; its checkpoint reloads to the same test accuracy", "[train]") {
  TempFolder tmp;
  std::ostringstream out;
  const json s = run_task(tiny("occurs", "dat", tmp.path / "occurs"), out, false);
  for (const char* key : {"task", "model", "train_size", "seed", "test_accuracy", "heldout_accuracy", "parameters",
                          "wall_seconds", "best_epoch", "best_val_accuracy", "epochs"}) {
    INFO(key);
    REQUIRE(s.contains(key));
  }
  REQUIRE(s["task"] == "occurs");
  REQUIRE(s["model"] == "dat");
  REQUIRE(s["train_size"] == 16);
  REQUIRE(s["epochs"] == 2);
  REQUIRE(s["test_accuracy"].get<double>() >= 0);
  REQUIRE(s["test_accuracy"].get<double>() <= 1);
  REQUIRE(s["heldout_accuracy"].contains("hexomino"));
  REQUIRE(s["heldout_accuracy"].contains("stripes"));
  REQUIRE(s["parameters"].get<int64_t>() > 0);
  const fs::path dir = tmp.path / "occurs";
  REQUIRE(json::parse(read(dir / "summary.json")) == s);
  REQUIRE(json::parse(read(dir / "config.json"))["model"]["block"]["attention"]["kind"] == "dual");
  const std::string metrics = read(dir / "metrics.csv");
  REQUIRE(metrics.rfind("epoch,train_loss,train_accuracy,val_loss,val_accuracy,seconds\n", 0) == 0);
  REQUIRE(lines(metrics) == 3);
  const std::string attention = read(dir / "attention_0.svg");
  REQUIRE(attention.find("relational head 1") != std::string::npos);
  REQUIRE(attention.find(">cell ") != std::string::npos);
  REQUIRE(attention.find(">empty ") != std::string::npos);
  REQUIRE(read(dir / "learning_curves.svg").find(">validation</text>") != std::string::npos);
  REQUIRE(out.str().find("test accuracy") != std::string::npos);

  // Another training size gives other input statistics but the same test set: the checkpoint's
  // input scaling must be the one used.
  RunSpec again = tiny("occurs", "dat", tmp.path / "eval");
  again.sizes.train = 8;
  again.load = (dir / "checkpoint.safetensors").string();
  again.eval_only = true;
  const json e = run_task(again, out, false);
  REQUIRE(e["test_loss"] == s["test_loss"]);
  REQUIRE(e["test_accuracy"] == s["test_accuracy"]);
  REQUIRE(e["heldout_accuracy"] == s["heldout_accuracy"]);
  REQUIRE(e["epochs"] == 0);
}

TEST_CASE("train: a seq2seq run writes its folder", "[train]") {
  TempFolder tmp;
  std::ostringstream out;
  RunSpec spec = tiny("sorting", "transformer", tmp.path / "sorting");
  spec.common.epochs = 1;
  const json s = run_task(spec, out, false);
  REQUIRE(s["task"] == "sorting");
  REQUIRE(s["heldout_accuracy"].empty());
  for (const char* file : {"config.json", "metrics.csv", "checkpoint.safetensors", "summary.json",
                           "learning_curves.svg", "attention_0.svg", "attention_0_decoder.svg"}) {
    INFO(file);
    REQUIRE(fs::exists(tmp.path / "sorting" / file));
  }
  const json config = json::parse(read(tmp.path / "sorting" / "config.json"));
  REQUIRE(config["model"]["src_features"] == 12);
  REQUIRE(config["model"]["tgt_vocab"] == 11);  // positions 0..9 and the start token
  REQUIRE(read(tmp.path / "sorting" / "attention_0_decoder.svg").find("cross head 2") != std::string::npos);
}

TEST_CASE("train: bad flags, impossible sizes, unusable folders and foreign checkpoints are errors", "[train]") {
  TempFolder tmp;
  std::ostringstream out;
  SECTION("flags") {
    RunSpec spec;
    CLI::App app;
    add_run_flags(app, spec, {"occurs", "set"});
    REQUIRE_THROWS_AS(app.parse("--model bert"), CLI::ValidationError);
    REQUIRE_THROWS_AS(app.parse("--task sorting"), CLI::ValidationError);
    REQUIRE_THROWS_AS(app.parse("--d -4"), CLI::ValidationError);
    REQUIRE_THROWS_AS(app.parse("--epochs 0"), CLI::ValidationError);
    // the message names the rule, not CLI11's whole double range
    REQUIRE_THROWS_WITH(app.parse("--epochs 0"), Catch::Contains("must be positive, got 0"));
    REQUIRE_THROWS_WITH(app.parse("--dropout -0.5"), Catch::Contains("--dropout"));
    REQUIRE_THROWS_WITH(app.parse("--train-size -5"), Catch::Contains("must be zero or more, got -5"));
    REQUIRE_THROWS_WITH(app.parse("--lr 1e-3x"), Catch::Contains("not a number: 1e-3x"));
    REQUIRE_THROWS_AS(app.parse("--batch many"), CLI::ParseError);
    REQUIRE_THROWS_AS(app.parse("--no-such-flag"), CLI::ParseError);
    app.parse("--task set --model gpam --d 32 --train-size 100 --seed 7 --out x");
    REQUIRE(spec.task == "set");
    REQUIRE(spec.model.kind == "gpam");
    REQUIRE(spec.model.d == 32);
    REQUIRE(spec.sizes.train == 100);
    REQUIRE(spec.common.seed == 7);
    REQUIRE(spec.common.out == "x");
  }
  SECTION("sizes") {
    RunSpec spec = tiny("occurs", "transformer", tmp.path / "heads");
    spec.model.heads = 3;
    REQUIRE_THROWS_WITH(run_task(spec, out, false), Catch::Contains("3 heads") && Catch::Contains("d = 16"));
    REQUIRE_FALSE(fs::exists(tmp.path / "heads"));  // refused before the folder is made
    spec = tiny("pairwise_order", "transformer", tmp.path / "pairs");
    spec.sizes.train = 10000;
    REQUIRE_THROWS_WITH(run_task(spec, out, false), Catch::Contains("pairwise_order"));
    spec = tiny("no_such_task", "transformer", tmp.path / "none");
    REQUIRE_THROWS_WITH(run_task(spec, out, false), Catch::Contains("unknown task 'no_such_task'"));
  }
  SECTION("folder") {
    fs::create_directories(tmp.path);
    std::ofstream(tmp.path / "a_file") << "x";
    REQUIRE_THROWS_WITH(run_task(tiny("set", "transformer", tmp.path / "a_file" / "run"), out, false),
                        Catch::Contains("cannot create folder") && Catch::Contains("a_file"));
  }
  SECTION("checkpoint") {
    RunSpec seq = tiny("copy", "transformer", tmp.path / "copy");
    seq.common.epochs = 1;
    run_task(seq, out, false);
    RunSpec spec = tiny("set", "transformer", tmp.path / "set");
    spec.load = (tmp.path / "copy" / "checkpoint.safetensors").string();
    REQUIRE_THROWS_WITH(run_task(spec, out, false), Catch::Contains("holds a 'seq2seq' model, not a 'classifier'"));
    spec.common.epochs = 1;
    spec.load.clear();
    run_task(spec, out, false);
    RunSpec wider = tiny("set", "transformer", tmp.path / "wider");
    wider.model.d = 32;
    wider.load = (tmp.path / "set" / "checkpoint.safetensors").string();
    REQUIRE_THROWS_WITH(run_task(wider, out, false), Catch::Contains("block.d = 16 in the checkpoint, 32 in the model"));
    wider.load = (tmp.path / "missing.safetensors").string();
    REQUIRE_THROWS_WITH(run_task(wider, out, false), Catch::Contains("no checkpoint file"));
  }
  SECTION("guarded") {
    std::ostringstream err;
    REQUIRE(guarded([] { throw Error("run: no good"); }, err) == 1);
    REQUIRE(err.str() == "error: run: no good\n");
    REQUIRE(guarded([] {}, err) == 0);
  }
}

TEST_CASE("train: a sweep tabulates mean and spread per model and size, and resumes", "[train]") {
  TempFolder tmp;
  SweepSpec sweep;
  sweep.base = tiny("pairwise_order", "transformer", tmp.path);
  sweep.base.common.epochs = 1;
  sweep.base.pictures = 0;
  sweep.train_sizes = {8, 16};
  sweep.models = {"transformer", "dat"};
  sweep.seeds = {0, 1};
  std::ostringstream out;
  const json rows = run_sweep(sweep, out, false);
  REQUIRE(rows.size() == 4);
  for (const json& row : rows) {
    REQUIRE(row["seeds"] == 2);
    REQUIRE(row["test_std"].get<double>() >= 0);
  }
  const std::string runs = read(tmp.path / "runs.csv");
  REQUIRE(lines(runs) == 9);
  // results.csv's mean is the mean of the two seeds' accuracies in runs.csv
  const json a = json::parse(read(tmp.path / "runs/dat_n16_s0/summary.json"));
  const json b = json::parse(read(tmp.path / "runs/dat_n16_s1/summary.json"));
  const double mean = (a["test_accuracy"].get<double>() + b["test_accuracy"].get<double>()) / 2;
  REQUIRE(rows[3]["model"] == "dat");
  REQUIRE(rows[3]["train_size"] == 16);
  REQUIRE(rows[3]["test_mean"].get<double>() == Approx(mean));
  REQUIRE(lines(read(tmp.path / "results.csv")) == 5);
  REQUIRE(read(tmp.path / "results.md").find("| dat | 16 | 2 |") != std::string::npos);
  // dat's p is Welch's test of its two seeds against the transformer's two at the same size
  const json t0 = json::parse(read(tmp.path / "runs/transformer_n16_s0/summary.json"));
  const json t1 = json::parse(read(tmp.path / "runs/transformer_n16_s1/summary.json"));
  const double p = dl::stats::welch_p({a["test_accuracy"], b["test_accuracy"]},
                                      {t0["test_accuracy"], t1["test_accuracy"]});
  if (std::isnan(p)) REQUIRE(rows[3]["test_p"].is_null());
  else REQUIRE(rows[3]["test_p"].get<double>() == p);
  REQUIRE(rows[1]["test_p"].is_null());  // the transformer is not tested against itself
  REQUIRE(read(tmp.path / "results.md").find("Welch's t-test") != std::string::npos);
  REQUIRE(read(tmp.path / "results.md").find("(p ") != std::string::npos);
  const std::string svg = read(tmp.path / "learning_curves.svg");
  REQUIRE(svg.find(">transformer</text>") != std::string::npos);
  REQUIRE(svg.find(">dat (p ") != std::string::npos);
  REQUIRE(svg.find(">held out: stripes</text>") == std::string::npos);  // pairwise_order has none

  sweep.resume = true;
  std::ostringstream again;
  REQUIRE(run_sweep(sweep, again, false) == rows);
  REQUIRE(again.str().find("done before") != std::string::npos);
}
