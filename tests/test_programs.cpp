// The training programs as a user meets them, through their binaries (tests/programs.h): run
// folders owned by one run, reuse refused, --overwrite, --resume, divergence, memory refused up
// front, eval from a checkpoint alone, predict; and a run killed with SIGKILL several times and
// resumed each time ending bitwise where an uninterrupted run ends.
#include "tests/testing.h"
#include "tests/programs.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>
#include <thread>
#include <vector>
#include <nlohmann/json.hpp>

using namespace dl::testing;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// A fresh folder under the system's temporary folder, removed at the end of the test.
struct Scratch {
  fs::path path;
  explicit Scratch(const std::string& name)
      : path(fs::temp_directory_path() / ("dl_test_programs_" + name + "_" + std::to_string(getpid()))) {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~Scratch() { fs::remove_all(path); }
};

std::string read(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Starts build/bin/<program> with args (split on spaces) in cwd, output to log; returns its pid.
pid_t start_program(const std::string& program, const std::string& args, const fs::path& cwd, const fs::path& log) {
  std::vector<std::string> words = {program_dir() + "/" + program};
  std::istringstream in(args);
  for (std::string w; in >> w;) words.push_back(w);
  std::fflush(nullptr);  // else the child's freopen writes this process's buffered output again
  const pid_t pid = fork();
  if (pid == 0) {
    if (chdir(cwd.c_str()) != 0) _exit(127);
    FILE* out = std::freopen(log.c_str(), "w", stdout);
    if (!out || dup2(fileno(stdout), 2) < 0) _exit(127);
    std::vector<char*> argv;
    for (std::string& w : words) argv.push_back(w.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

int wait_exit(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Small enough for a test (and for the sanitizer build): d 16, 32 examples, one thread.
const std::string kTiny =
    "--task occurs --model dat --d 16 --d-ff 32 --train-size 32 --val-size 16 --test-size 16 --batch 16 "
    "--threads 1";
const std::string kTinySeq = "--task copy --d 16 --d-ff 32 --train-size 32 --val-size 16 --test-size 16 --batch 16 "
                             "--threads 1 --pictures 0";

struct Row {
  std::string what;
  std::string program, args;  // run in the scratch folder
  int exit_code;              // -1: any non-zero code
  std::string message;        // a fragment the output must contain
  std::vector<std::string> present, absent;  // files (relative to the scratch folder) after the run
  std::string holder = "";    // when set: args of a train_classifier run holding the folder meanwhile
  std::function<void(const std::string& output, const fs::path& dir)> check = {};
};

}  // namespace

TEST_CASE("programs: run folders, resume, divergence, memory, eval and predict through the binaries", "[programs]") {
  Scratch scratch("table");
  const fs::path& dir = scratch.path;
  const std::vector<std::string> run_files = {"a/config.json", "a/metrics.csv", "a/checkpoint.safetensors",
                                              "a/last.safetensors", "a/summary.json", "a/learning_curves.svg"};
  auto equals_summary = [](const std::string& output, const fs::path& d) {
    const json summary = json::parse(read(d / "a/summary.json"));
    const size_t end = output.find_last_not_of('\n');
    const json figures = json::parse(output.substr(output.rfind('\n', end) + 1));  // the last line
    REQUIRE(figures["test_accuracy"] == summary["test_accuracy"]);
    REQUIRE(figures["test_loss"] == summary["test_loss"]);
    REQUIRE(figures["heldout_accuracy"] == summary["heldout_accuracy"]);
  };
  auto metrics_rows = [](size_t rows) {
    return [rows](const std::string&, const fs::path& d) {
      const std::string csv = read(d / "a/metrics.csv");
      REQUIRE(static_cast<size_t>(std::count(csv.begin(), csv.end(), '\n')) == rows + 1);
    };
  };
  // one row a kernel: ns/elem, bytes/elem, the bound and the ratio, all positive, and the flag
  // exactly on the rows more than 3x off their bound
  auto kernel_table = [](const std::string& output, const fs::path&) {
    for (const std::string kernel : {"exp", "erf", "gelu forward", "gelu backward", "softmax forward",
                                     "softmax backward", "layer_norm forward", "layer_norm backward", "adamw step"}) {
      INFO(kernel);
      const size_t at = output.find("\n" + kernel + " ");
      REQUIRE(at != std::string::npos);
      const std::string line = output.substr(at + 1, output.find('\n', at + 1) - at - 1);
      std::istringstream row(line.substr(kernel.size()));
      double ns = 0, bytes = 0, bound = 0, ratio = 0;
      REQUIRE(static_cast<bool>(row >> ns >> bytes >> bound >> ratio));
      REQUIRE((ns > 0 && bytes > 0 && bound > 0 && ratio > 0));
      if (ratio > 3.01) REQUIRE(line.find("SLOW") != std::string::npos);
      if (ratio < 2.99) REQUIRE(line.find("SLOW") == std::string::npos);
    }
    REQUIRE(output.find("kernels more than 3x off their memory bound") != std::string::npos);
  };
  std::vector<std::string> first_run = run_files;
  first_run.insert(first_run.end(), {"a/attention_0.svg", "a/best.safetensors"});
  // summary.json holds the final and the best epoch's figures; the headline ones are the selected
  auto selected = [](const std::string& folder, const std::string& select, int epochs) {
    return [=](const std::string&, const fs::path& d) {
      const json config = json::parse(read(d / folder / "config.json"));  // the defaults
      REQUIRE((config["run"]["images"] == "original" && config["model"]["in_features"] == 432));
      REQUIRE((config["model"]["embedding"] == "official" && config["input_mean"] == 0.0 && config["input_std"] == 1.0));
      const json attention = config["model"]["block"]["attention"];  // and the DAT code's init and symbols
      REQUIRE((attention["official"] == true && attention["max_offset"] == 10 && attention["n_symbols"] == 9));
      const json summary = json::parse(read(d / folder / "summary.json"));
      REQUIRE(summary["select"] == select);
      REQUIRE(summary["final"]["epoch"] == epochs);
      REQUIRE(summary["best"]["epoch"] == summary["best_epoch"]);
      REQUIRE(summary["test_accuracy"] == summary[select]["test_accuracy"]);
      REQUIRE(summary["heldout_accuracy"] == summary[select]["heldout_accuracy"]);
    };
  };
  const std::vector<Row> rows = {
      {"a fresh run leaves its folder", "train_classifier", kTiny + " --epochs 2 --pictures 1 --out a", 0,
       "final model (epoch 2", first_run, {}, "", selected("a", "final", 2)},
      {"--select best keeps the best validation epoch as the checkpoint", "train_classifier",
       kTiny + " --epochs 3 --pictures 0 --select best --out sb", 0, "best model (epoch",
       {"sb/checkpoint.safetensors"}, {"sb/best.safetensors"}, "", selected("sb", "best", 3)},
      {"a best epoch that is the last is tested once, both figures kept", "train_classifier",
       kTiny + " --epochs 1 --pictures 0 --out one", 0, "final model (epoch 1, the best model): test accuracy",
       {"one/summary.json"}, {}, "",
       [](const std::string&, const fs::path& d) {
         const json summary = json::parse(read(d / "one/summary.json"));
         REQUIRE(summary["best"]["epoch"] == 1);
         REQUIRE(summary["final"] == summary["best"]);
       }},
      {"--images compact: the earlier 6 x 6-pixel cells, stored with the run", "train_classifier",
       kTiny + " --epochs 1 --pictures 1 --images compact --embed compact --out ic", 0, "test accuracy",
       {"ic/checkpoint.safetensors", "ic/attention_0.svg"}, {}, "", [](const std::string&, const fs::path& d) {
         const json config = json::parse(read(d / "ic/config.json"));
         REQUIRE(config["run"]["images"] == "compact");
         REQUIRE(config["run"]["embed"] == "compact");
         REQUIRE(config["model"]["embedding"] == "compact");
         REQUIRE(config["input_std"] != 1.0);  // compact standardises the pixels
         REQUIRE(config["model"]["in_features"] == 108);  // tokens of 6 * 6 * 3
       }},
      {"eval of a compact run regenerates compact images", "eval", "--load ic/checkpoint.safetensors", 0,
       "test accuracy", {}, {}},
      {"eval with a contradicting --images", "eval", "--load ic/checkpoint.safetensors --images original", 1,
       "--images \"original\" contradicts", {}, {}},
      {"--embed takes official or compact only", "train_classifier", kTiny + " --embed tiny --out ex", -1,
       "--embed", {}, {"ex"}},
      {"--images takes original or compact only", "train_classifier", kTiny + " --images tiny --out ix", -1,
       "--images", {}, {"ix"}},
      {"--select takes final or best only", "train_classifier", kTiny + " --select last --out sx", -1, "--select",
       {}, {"sx"}},
      {"a folder holding a run is not reused", "train_classifier", kTiny + " --epochs 2 --out a", 1,
       "holds a run", run_files, {}},
      {"--overwrite clears it first, old pictures included", "train_classifier",
       kTiny + " --epochs 1 --pictures 0 --out a --overwrite", 0, "test accuracy", run_files, {"a/attention_0.svg"},
       "", metrics_rows(1)},
      {"--resume continues from the last epoch and appends", "train_classifier", "--resume --epochs 3 --out a", 0,
       "after epoch 1", run_files, {}, "", metrics_rows(3)},
      {"--resume with a contradicting flag", "train_classifier", "--resume --out a --d 32", 1,
       "--d 32 contradicts", run_files, {}},
      {"--resume of a folder without a run", "train_classifier", "--resume --out empty", 1,
       "holds no last.safetensors", {}, {"empty/config.json"}},
      {"a second process on a folder in use", "train_classifier", kTiny + " --epochs 1 --out busy", 1,
       "is in use by another run (process ", {}, {"busy/summary.json"},
       kTiny + " --epochs 100000 --pictures 0 --out busy"},
      {"eval from the checkpoint alone equals summary.json", "eval", "--load a/checkpoint.safetensors", 0,
       "test accuracy", {}, {}, "", equals_summary},
      {"eval with a contradicting flag", "eval", "--load a/checkpoint.safetensors --task same", 1,
       "--task \"same\" contradicts", {}, {}},
      {"predict one test example", "predict", "--load a/checkpoint.safetensors --example 3 --out a/example_3.svg", 0,
       "probability", {"a/example_3.svg"}, {}},
      {"predict on a held-out set", "predict",
       "--load a/checkpoint.safetensors --example 0 --split stripes --out a/stripes_0.svg", 0, "label",
       {"a/stripes_0.svg"}, {}},
      {"predict past the end of the split", "predict", "--load a/checkpoint.safetensors --example 16", 1,
       "--example 16", {}, {}},
      {"divergence stops training and keeps no model", "train_classifier", kTiny + " --lr 1e6 --out div", 1,
       "training diverged", {}, {"div/checkpoint.safetensors", "div/summary.json"}},
      {"an infinite learning rate is refused", "train_classifier", kTiny + " --lr inf --out inf", -1, "lr", {},
       {"inf/checkpoint.safetensors"}},
      {"too many layers: refused up front with the estimate", "train_classifier", "--layers 100000 --out big", 1,
       "needs about", {}, {"big"}},
      {"too many examples: refused up front", "train_classifier", "--train-size 1000000000000 --out big", 1,
       "--train-size 1000000000000", {}, {"big"}},
      {"seq2seq: a run and its resume", "train_seq2seq", kTinySeq + " --epochs 1 --out s", 0, "test accuracy",
       {"s/last.safetensors", "s/summary.json"}, {}},
      {"seq2seq: --resume", "train_seq2seq", "--resume --epochs 2 --out s", 0, "after epoch 1",
       {"s/summary.json"}, {}},
      {"predict decodes a token sequence", "predict", "--load s/checkpoint.safetensors --tokens \"3 1 2\"", 0,
       "decoded", {}, {}},
      {"bench_kernels: every kernel beside its memory bound, after the CPU line", "bench_kernels",
       "--quick --threads 1", 0, "vector ISA: built for ", {}, {}, "", kernel_table},
      {"bench: the CPU line, then one step's figures", "bench",
       "--model transformer --config S --threads 1 --warmup 0 --steps 1", 0, "# cpu: ", {}, {}, "",
       [](const std::string& output, const fs::path&) {
         REQUIRE(output.find("vector ISA: built for ") < output.find("bench model=transformer config=S threads=1"));
       }},
      {"bench_decode: cached and uncached greedy decoding of transformer and dat, the same tokens", "bench_decode",
       "--batch 2 --repeat 1", 0, "# cpu: ", {}, {}, "",
       [](const std::string& output, const fs::path&) {
         for (const char* line : {"model=transformer mode=cached batch=2 steps=10", "model=dat mode=uncached",
                                  "model=transformer cached_speedup=", "dat_over_transformer_cached="})
           REQUIRE(output.find(line) != std::string::npos);
         REQUIRE(output.find("model=dat cached_speedup=") < output.find("dat_over_transformer_cached="));
         size_t agree = 0;
         for (size_t at = output.find("tokens_agree=yes"); at != std::string::npos;
              at = output.find("tokens_agree=yes", at + 1))
           ++agree;
         REQUIRE(agree == 2);
       }},
      {"bench_decode: an unknown model is refused", "bench_decode", "--model nope", -1, "nope", {}, {}},
      // differential attention (--model diff) through every program that trains a model
      {"diff: a classifier run, its pictures and its config", "train_classifier",
       "--task occurs --model diff --d 16 --d-ff 32 --train-size 32 --val-size 16 --test-size 16 --batch 16 "
       "--threads 1 --epochs 2 --pictures 1 --out diff",
       0, "test accuracy", {"diff/summary.json", "diff/attention_0.svg"}, {}, "",
       [](const std::string& output, const fs::path& d) {
         REQUIRE(output.find("diff (2 heads)") != std::string::npos);
         const json config = json::parse(read(d / "diff/config.json"));
         REQUIRE(config["run"]["model"] == "diff");
         REQUIRE(config["model"]["block"]["attention"]["kind"] == "diff");
       }},
      {"diff: a seq2seq run", "train_seq2seq", kTinySeq + " --model diff --epochs 1 --out sdiff", 0, "test accuracy",
       {"sdiff/summary.json"}, {}},
      {"diff: the LM's steps leave nothing behind", "train_steps", "--model diff --steps 20 --threads 1", 0,
       "left behind: 0 bytes of tensor storage, 0 tape nodes", {}, {}},
      {"diff: one benchmark step", "bench", "--model diff --config S --threads 1 --warmup 0 --steps 1 --peak 1", 0,
       "bench model=diff config=S", {}, {}},
  };
  for (const Row& row : rows) {
    INFO(row.what << ": " << row.program << " " << row.args);
    pid_t holder = -1;
    if (!row.holder.empty()) {  // started first, and holding the lock before the row's run starts
      holder = start_program("train_classifier", row.holder, dir, dir / "holder.log");
      const fs::path lock = dir / "busy" / ".lock";
      for (int i = 0; i < 6000 && read(lock).empty(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
      REQUIRE_FALSE(read(lock).empty());
    }
    const ProgramRun run = run_program(row.program, row.args, dir.string());
    INFO(run.output);
    if (holder > 0) {
      REQUIRE(run.output.find("process " + std::to_string(holder) + ")") != std::string::npos);
      kill(holder, SIGKILL);
      wait_exit(holder);
    }
    if (row.exit_code >= 0) REQUIRE(run.exit_code == row.exit_code);
    else REQUIRE(run.exit_code != 0);
    REQUIRE(run.output.find(row.message) != std::string::npos);
    REQUIRE(run.output.find("bad_alloc") == std::string::npos);
    for (const std::string& f : row.present) {
      INFO("must exist: " << f);
      REQUIRE(fs::exists(dir / f));
    }
    for (const std::string& f : row.absent) {
      INFO("must not exist: " << f);
      REQUIRE_FALSE(fs::exists(dir / f));
    }
    if (row.check) row.check(run.output, dir);
  }
}

namespace {

// A run killed with SIGKILL at random moments, resumed each time (--resume once last.safetensors
// exists, else started again with --overwrite), ends with the same checkpoint file (weights,
// input scaling, generators: byte for byte), the same metrics.csv losses and accuracies and the
// same summary.json figures as an uninterrupted run. The program's args (without --epochs) train
// for `epochs` epochs.
void check_killed_and_resumed(const std::string& program, const std::string& args, int epochs) {
  Scratch scratch("kill_" + program);
  const fs::path& dir = scratch.path;
  const std::string run_args = args + " --threads 1 --pictures 0 --epochs " + std::to_string(epochs);
  const auto begin = std::chrono::steady_clock::now();
  REQUIRE(wait_exit(start_program(program, run_args + " --out ref", dir, dir / "ref.log")) == 0);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();

  // Each killed process first completes at least one epoch of its own (last.safetensors is
  // rewritten), so the run progresses; then it dies at a random moment within about an epoch.
  std::mt19937 rng(std::random_device{}());
  std::uniform_real_distribution<double> moment(0.0, seconds / epochs);
  const fs::path last = dir / "killed" / "last.safetensors";
  auto stamp = [&] {
    std::error_code ec;
    const auto t = fs::last_write_time(last, ec);
    return ec ? fs::file_time_type::min() : t;
  };
  int kills = 0, resumes = 0, code = -1;
  for (int attempt = 0; attempt < 10 && code != 0; ++attempt) {
    const bool resume = fs::exists(last);
    resumes += resume;
    const auto before = stamp();
    const pid_t pid = start_program(program,
                                    resume ? "--resume --threads 1 --pictures 0 --epochs " + std::to_string(epochs) + " --out killed"
                                           : run_args + " --overwrite --out killed",
                                    dir, dir / "killed.log");
    int status = 0;
    pid_t done = 0;
    if (kills < 3) {
      while ((done = waitpid(pid, &status, WNOHANG)) == 0 && stamp() == before)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      if (done == 0) {
        // a random moment of the next epoch, at the latest when that epoch ends: so a killed
        // process completes at most two epochs, and a run slowed by a loaded machine early on
        // (a long moment) cannot finish inside its sleep and escape the third kill
        const auto after = stamp();
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(moment(rng));
        while (std::chrono::steady_clock::now() < deadline && stamp() == after &&
               (done = waitpid(pid, &status, WNOHANG)) == 0)
          std::this_thread::sleep_for(std::chrono::microseconds(200));
        if (done == 0) kill(pid, SIGKILL);
      }
    }
    if (done == 0) waitpid(pid, &status, 0);
    code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    INFO("exit code " << code << "\n" << read(dir / "killed.log"));
    REQUIRE((code == 0 || code == 128 + SIGKILL));
    kills += code == 128 + SIGKILL;
  }
  REQUIRE(code == 0);
  REQUIRE(kills == 3);
  REQUIRE(resumes >= 3);
  REQUIRE(read(dir / "killed" / "checkpoint.safetensors") == read(dir / "ref" / "checkpoint.safetensors"));
  auto losses = [&](const std::string& run) {  // every column but the seconds
    std::istringstream csv(read(dir / run / "metrics.csv"));
    std::string out;
    for (std::string line; std::getline(csv, line);) out += line.substr(0, line.rfind(',')) + "\n";
    return out;
  };
  REQUIRE(losses("killed") == losses("ref"));
  json a = json::parse(read(dir / "killed" / "summary.json")), b = json::parse(read(dir / "ref" / "summary.json"));
  for (json* s : {&a, &b})
    for (const char* key : {"wall_seconds", "folder"}) s->erase(key);
  REQUIRE(a == b);
  for (const auto& entry : fs::directory_iterator(dir / "killed"))  // dead writers' files are gone
    REQUIRE(entry.path().filename().string().find(".tmp") == std::string::npos);
}

}  // namespace

TEST_CASE("programs: a run SIGKILLed several times and resumed ends bitwise as an uninterrupted one", "[programs]") {
  SECTION("train_classifier") {
    check_killed_and_resumed("train_classifier", "--task occurs --model dat --d 16 --d-ff 32 --train-size 256 "
                             "--val-size 16 --test-size 16 --batch 16", 8);
  }
  SECTION("train_seq2seq") {
    check_killed_and_resumed("train_seq2seq", "--task sorting --model dat --d 16 --d-ff 32 --train-size 256 "
                             "--val-size 16 --test-size 16 --batch 16", 8);
  }
}

// `make demo` run twice: without --out the second demo goes to runs/demo-2 and the first one's
// results stay as they were; given --out explicitly, a folder holding a run is still refused.
TEST_CASE("programs: a second demo keeps the first one's results", "[programs]") {
  Scratch scratch("demo");
  const fs::path& dir = scratch.path;
  const std::string args = "--d 16 --d-ff 32 --layers 1 --train-size 32 --val-size 16 --test-size 16 --batch 16 "
                           "--epochs 1 --pictures 0 --threads 1";
  const ProgramRun first = run_program("demo", args, dir.string());
  INFO(first.output);
  REQUIRE(first.exit_code == 0);
  const std::string first_summary = read(dir / "runs/demo/dat/summary.json");
  REQUIRE_FALSE(first_summary.empty());

  const ProgramRun second = run_program("demo", args + " --seed 1", dir.string());
  INFO(second.output);
  REQUIRE(second.exit_code == 0);
  REQUIRE(second.output.find("this one goes to runs/demo-2") != std::string::npos);
  REQUIRE(fs::exists(dir / "runs/demo-2/transformer/summary.json"));
  REQUIRE(read(dir / "runs/demo/dat/summary.json") == first_summary);

  const ProgramRun explicit_out = run_program("demo", args + " --out runs/demo", dir.string());
  INFO(explicit_out.output);
  REQUIRE(explicit_out.exit_code == 1);
  REQUIRE(explicit_out.output.find("holds a run") != std::string::npos);
  REQUIRE(read(dir / "runs/demo/dat/summary.json") == first_summary);
}
